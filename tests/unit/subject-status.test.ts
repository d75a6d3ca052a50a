import { describe, expect, it } from "vitest";
import type { ReviewEntry, SubjectStatus } from "../../functions/engine/review.ts";
import {
  currentStatus,
  decideStatusChange,
  isClosedStatus,
  type StatusRecord,
  statusesBySubject,
  statusHistory,
} from "../../functions/engine/subject-status.ts";

const TODAY = "2026-06-01";

function entry(seq: number, status: SubjectStatus, subject = "01-001", extra: object = {}): ReviewEntry {
  return {
    action: "subject-status",
    status,
    study: "s",
    subject,
    site: "site-01",
    seq,
    at: `2026-05-0${seq}T10:00:00.000Z`,
    by: "coordinator@example.org",
    target: {},
    previousHash: "",
    hash: `h${seq}`,
    mac: "",
    ...extra,
  } as ReviewEntry;
}

const recorded = (status: SubjectStatus): StatusRecord => ({ status, seq: 1, at: "2026-05-01T00:00:00Z" });

describe("the status fold", () => {
  it("is enrolled when nothing was recorded, else the last entry by seq", () => {
    expect(currentStatus([])).toEqual({ status: "enrolled" });
    const log = [
      entry(2, "withdrawn", "01-001", { date: "2026-05-02", reason: "moved" }),
      entry(1, "screened"),
    ];
    expect(currentStatus(log)).toMatchObject({
      status: "withdrawn",
      date: "2026-05-02",
      reason: "moved",
      seq: 2,
    });
    expect(statusHistory(log).map((r) => r.status)).toEqual(["screened", "withdrawn"]);
  });

  it("ignores other review entries", () => {
    const sign = { ...entry(3, "completed"), action: "lock" } as unknown as ReviewEntry;
    expect(currentStatus([entry(1, "enrolled"), sign]).status).toBe("enrolled");
  });

  it("folds a site's entries per subject", () => {
    const statuses = statusesBySubject([
      entry(1, "enrolled", "01-001"),
      entry(2, "completed", "01-001"),
      entry(1, "withdrawn", "01-002"),
    ]);
    expect([...statuses]).toEqual([
      ["01-001", "completed"],
      ["01-002", "withdrawn"],
    ]);
  });

  it("closes the schedule after withdrawal, loss to follow-up, screen failure and completion only", () => {
    expect(
      ["withdrawn", "lost-to-follow-up", "screen-failure", "completed"].every((s) =>
        isClosedStatus(s as SubjectStatus),
      ),
    ).toBe(true);
    expect(isClosedStatus("enrolled")).toBe(false);
    expect(isClosedStatus("screened")).toBe(false);
    expect(isClosedStatus(undefined)).toBe(false);
  });
});

describe("status transitions", () => {
  it("allows any first status, and forward moves", () => {
    expect(decideStatusChange({ status: "enrolled" }, { status: "screened" }, TODAY).kind).toBe("change");
    expect(decideStatusChange(recorded("screened"), { status: "enrolled" }, TODAY).kind).toBe("change");
    expect(decideStatusChange(recorded("enrolled"), { status: "completed", date: TODAY }, TODAY).kind).toBe(
      "change",
    );
  });

  it("needs a date and a reason to withdraw", () => {
    const refused = decideStatusChange(recorded("enrolled"), { status: "withdrawn" }, TODAY);
    expect(refused).toEqual({
      kind: "invalid",
      errors: [
        expect.objectContaining({ pointer: "/date", code: "required" }),
        expect.objectContaining({ pointer: "/reason", code: "required" }),
      ],
    });
    expect(
      decideStatusChange(recorded("enrolled"), { status: "withdrawn", date: TODAY, reason: "  " }, TODAY)
        .kind,
    ).toBe("invalid");
    expect(
      decideStatusChange(
        recorded("enrolled"),
        { status: "withdrawn", date: TODAY, reason: "consent withdrawn" },
        TODAY,
      ).kind,
    ).toBe("change");
  });

  it("refuses a date that is not a real date or lies after today", () => {
    for (const date of ["2026-02-30", "1/6/2026", "2026-06-02"]) {
      const d = decideStatusChange(recorded("enrolled"), { status: "completed", date }, TODAY);
      expect(d.kind, date).toBe("invalid");
    }
  });

  it("reopens a closed subject only with a reason", () => {
    const bare = decideStatusChange(recorded("completed"), { status: "enrolled" }, TODAY);
    expect(bare).toMatchObject({ kind: "invalid", errors: [{ pointer: "/reason", code: "required" }] });
    expect(
      decideStatusChange(
        recorded("completed"),
        { status: "enrolled", reason: "completion entered in error" },
        TODAY,
      ).kind,
    ).toBe("change");
    expect(
      decideStatusChange(recorded("screen-failure"), { status: "screened", reason: "rescreened" }, TODAY)
        .kind,
    ).toBe("change");
  });

  it("refuses the same status again and moves the table does not allow", () => {
    expect(decideStatusChange(recorded("enrolled"), { status: "enrolled" }, TODAY).kind).toBe("transition");
    expect(
      decideStatusChange(recorded("completed"), { status: "withdrawn", date: TODAY, reason: "x" }, TODAY)
        .kind,
    ).toBe("transition");
    expect(decideStatusChange(recorded("enrolled"), { status: "screen-failure" }, TODAY).kind).toBe(
      "transition",
    );
    expect(
      decideStatusChange(recorded("screen-failure"), { status: "enrolled", reason: "x" }, TODAY).kind,
    ).toBe("transition");
  });
});
