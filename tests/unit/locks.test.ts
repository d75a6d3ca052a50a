import { describe, expect, it } from "vitest";
import { activeLocks, decideLock, lockOn, lockState } from "../../functions/engine/locks.ts";
import type { ReviewEntry, ReviewTarget } from "../../functions/engine/review.ts";

let seq = 0;
function entry(action: "lock" | "unlock", target: ReviewTarget, by = "dm", reason?: string): ReviewEntry {
  seq += 1;
  return {
    study: "s",
    subject: "01-001",
    site: "site-01",
    seq,
    at: `2026-01-0${Math.min(seq, 9)}T00:00:00.000Z`,
    by,
    target,
    previousHash: "",
    hash: "",
    mac: "",
    ...(action === "lock" ? { action, ...(reason ? { reason } : {}) } : { action, reason: reason ?? "why" }),
  } as ReviewEntry;
}

const form = { event: "baseline", form: "visit", instance: 1 };
const other = { event: "baseline", form: "labs", instance: 1 };

describe("locks folded from the review log", () => {
  it("a lock holds its own target and everything within it until an unlock of that same target", () => {
    const log = [entry("lock", { event: "baseline" }), entry("lock", form)];
    expect(activeLocks(log).map((l) => l.target)).toEqual([{ event: "baseline" }, form]);
    const state = lockState(log, []);
    expect(lockOn(state, other)?.scope).toBe("visit");
    expect(lockOn(state, form)?.scope).toBe("visit");
    expect(lockOn(state, { event: "m3", form: "visit", instance: 1 })).toBeUndefined();

    // Unlocking the visit leaves the form's own lock in force.
    const after = lockState([...log, entry("unlock", { event: "baseline" })], []);
    expect(lockOn(after, other)).toBeUndefined();
    expect(lockOn(after, form)).toMatchObject({ scope: "form", lock: { by: "dm" } });
  });

  it("a subject lock covers every visit and log; the widest lock is named", () => {
    const state = lockState([entry("lock", form, "a"), entry("lock", {}, "b")], []);
    expect(lockOn(state, form)).toMatchObject({ scope: "subject", lock: { by: "b" } });
    expect(lockOn(state, { event: "logs", form: "adverse_event", instance: 7 })?.scope).toBe("subject");
  });

  it("a repeatable visit's lock holds that instance only", () => {
    const state = lockState([entry("lock", { event: "unscheduled", instance: 2 })], []);
    expect(lockOn(state, { event: "unscheduled", form: "visit", instance: 2 })?.scope).toBe("visit");
    expect(lockOn(state, { event: "unscheduled", form: "visit", instance: 3 })).toBeUndefined();
  });

  it("the study's freeze holds everything; unfrozen, the subject's own locks remain", () => {
    const freeze = entry("lock", {}, "dm", "interim analysis");
    expect(lockOn(lockState([], [freeze]), form)).toMatchObject({ scope: "study" });
    const unfrozen = lockState([entry("lock", form)], [freeze, entry("unlock", {})]);
    expect(unfrozen.frozen).toBeUndefined();
    expect(lockOn(unfrozen, form)?.scope).toBe("form");
  });

  it("relocking after an unlock records the new lock's author", () => {
    const log = [entry("lock", form, "a"), entry("unlock", form), entry("lock", form, "c")];
    expect(activeLocks(log)).toHaveLength(1);
    expect(activeLocks(log)[0]?.by).toBe("c");
  });
});

describe("deciding a lock or an unlock", () => {
  const locks = activeLocks([entry("lock", form)]);
  it("refuses a second lock of the same target, not a lock of a wider one", () => {
    expect(decideLock(locks, form, "lock").kind).toBe("already-locked");
    expect(decideLock(locks, { event: "baseline" }, "lock").kind).toBe("append");
  });
  it("an unlock needs a reason before anything else, and a lock of exactly that target", () => {
    expect(decideLock(locks, form, "unlock").kind).toBe("reason-required");
    expect(decideLock(locks, form, "unlock", "  ").kind).toBe("reason-required");
    expect(decideLock(locks, { event: "baseline" }, "unlock", "why").kind).toBe("not-locked");
    expect(decideLock(locks, form, "unlock", "why").kind).toBe("append");
  });
});
