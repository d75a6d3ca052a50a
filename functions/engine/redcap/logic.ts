/**
 * REDCap logic ⇄ JSON Logic. `toJsonLogic` reads REDCap branching logic and
 * calculations into the engine's JSON Logic; `toRedcap` writes JSON Logic back
 * in REDCap syntax. Both keep meaning exactly or refuse with a reason.
 */

export { type FieldKind, type LogicField, type LogicFields, logicFieldOf, logicFields } from "./fields.ts";
export { normalizeRedcap, parseRedcap, printRedcap } from "./syntax.ts";
export {
  redcapCompare,
  type ToJsonLogicOptions,
  type ToJsonLogicResult,
  toJsonLogic,
} from "./to-json-logic.ts";
export { type ToRedcapOptions, type ToRedcapResult, toRedcap } from "./to-redcap.ts";
