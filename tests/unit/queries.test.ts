import { describe, expect, it } from "vitest";
import {
  filterQueries,
  foldQueries,
  percentile,
  queryStats,
  refusal,
} from "../../functions/engine/queries.ts";
import type { ReviewAction, ReviewEntry, ReviewTarget } from "../../functions/engine/review.ts";

let seq = 0;
const entry = (
  action: ReviewAction,
  at: string,
  over: { subject?: string; target?: ReviewTarget; by?: string } = {},
): ReviewEntry =>
  ({
    ...action,
    study: "s",
    subject: over.subject ?? "01-001",
    site: "site-01",
    seq: ++seq,
    at,
    by: over.by ?? "monitor@example.org",
    target: over.target ?? { event: "screening", form: "edss", instance: 1, field: "edss_score" },
    previousHash: "",
    hash: "",
    mac: "",
  }) as ReviewEntry;

const day = (n: number) => new Date(Date.UTC(2026, 0, 1 + n)).toISOString();

describe("folding query entries", () => {
  it("follows open → answered → closed → reopened, keeping every message in order", () => {
    const queries = foldQueries([
      entry(
        { action: "query-open", query: "q_a", text: "EDSS 9.5?", assignee: { role: "coordinator" } },
        day(0),
      ),
      entry({ action: "verify", covers: [] }, day(0)),
      entry(
        {
          action: "query-answer",
          query: "q_a",
          text: "Typo, 5.5",
          correction: { event: "screening", form: "edss", instance: 1, rev: 2, hash: "h" },
        },
        day(1),
        { by: "site@example.org" },
      ),
      entry({ action: "query-close", query: "q_a" }, day(2)),
    ]);
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatchObject({
      id: "q_a",
      scope: "field",
      state: "closed",
      assignee: { role: "coordinator" },
      openedAt: day(0),
      closedAt: day(2),
      updatedAt: day(2),
    });
    expect(queries[0]?.messages.map((m) => [m.action, m.by, m.text])).toEqual([
      ["query-open", "monitor@example.org", "EDSS 9.5?"],
      ["query-answer", "site@example.org", "Typo, 5.5"],
      ["query-close", "monitor@example.org", undefined],
    ]);
    expect(queries[0]?.messages[1]?.correction).toMatchObject({ rev: 2 });

    const reopened = foldQueries([
      entry({ action: "query-open", query: "q_b", text: "?" }, day(0), { target: {} }),
      entry({ action: "query-close", query: "q_b" }, day(1)),
      entry({ action: "query-reopen", query: "q_b", text: "Not resolved" }, day(2)),
    ]);
    expect(reopened[0]).toMatchObject({ state: "open", scope: "subject" });
    expect(reopened[0]?.closedAt).toBeUndefined();
  });

  it("keeps the rule of an automatically opened query, and leaves out entries with no opening", () => {
    const queries = foldQueries([
      entry({ action: "query-answer", query: "q_lost", text: "?" }, day(0)),
      entry({ action: "query-open", query: "q_r", text: "Above 40", rule: "x-soft-maximum" }, day(1)),
    ]);
    expect(queries.map((q) => [q.id, q.rule])).toEqual([["q_r", "x-soft-maximum"]]);
  });
});

describe("which transitions are refused", () => {
  it.each([
    ["open", "answer", undefined],
    ["answered", "answer", "already-answered"],
    ["closed", "answer", "closed"],
    ["open", "close", undefined],
    ["answered", "close", undefined],
    ["closed", "close", "already-closed"],
    ["open", "reopen", "already-open"],
    ["answered", "reopen", undefined],
    ["closed", "reopen", undefined],
  ] as const)("%s, %s → %s", (state, transition, code) => {
    expect(refusal(state, transition)?.code).toBe(code);
  });
});

describe("age statistics and filters", () => {
  const queries = foldQueries([
    entry({ action: "query-open", query: "q1", text: "a", assignee: { person: "p1" } }, day(0)),
    entry({ action: "query-open", query: "q2", text: "b", assignee: { role: "coordinator" } }, day(4), {
      target: { event: "month_3", form: "vitals", instance: 1 },
    }),
    entry({ action: "query-open", query: "q3", text: "c" }, day(8)),
    entry({ action: "query-answer", query: "q3", text: "done" }, day(9)),
    entry({ action: "query-open", query: "q4", text: "d" }, day(9)),
    entry({ action: "query-close", query: "q4" }, day(9)),
  ]);
  const now = new Date(day(10));

  it("counts by state and takes the median and 90th percentile of the ages of unclosed queries", () => {
    // Ages of q1, q2, q3: 10, 6, 2 days.
    expect(queryStats(queries, now)).toEqual({
      open: 2,
      answered: 1,
      closed: 1,
      medianAgeDays: 6,
      p90AgeDays: 9.2,
    });
    expect(queryStats([], now)).toMatchObject({ open: 0, medianAgeDays: null, p90AgeDays: null });
  });

  it("interpolates percentiles between ranks", () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentile([5], 0.9)).toBe(5);
  });

  it("filters by state, form, assignee (role or person) and minimum age", () => {
    const ids = (f: Parameters<typeof filterQueries>[1]) => filterQueries(queries, f, now).map((q) => q.id);
    expect(ids({ state: "open" })).toEqual(["q1", "q2"]);
    expect(ids({ form: "vitals" })).toEqual(["q2"]);
    expect(ids({ assignee: "coordinator" })).toEqual(["q2"]);
    expect(ids({ assignee: "p1" })).toEqual(["q1"]);
    expect(ids({ minAgeDays: 5 })).toEqual(["q1", "q2"]);
  });
});
