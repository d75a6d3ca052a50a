/**
 * What the EventBridge rule (infra/stack.ts) sends the export worker every 15
 * minutes: tick the scheduled exports. Its own module so the stack reads it
 * without loading the worker.
 */
export const SCHEDULE_TICK = { exportSchedules: "tick" } as const;
export type ScheduleTickEvent = typeof SCHEDULE_TICK;
