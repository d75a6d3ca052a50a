import { describe, expect, it } from "vitest";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import type { Revision } from "../../functions/store/revision-item.ts";
import { casebookView, casebookViewFields } from "../../functions/web/casebook-view.ts";
import { labs, smallDefinition, smallStudy, visit } from "./small-study.ts";

/** A protocol without day one whose baseline collects fewer forms in arm b and repeats its labs. */
const definition: StudyDefinition = smallDefinition(
  1,
  { visit, labs },
  smallStudy({
    dayOne: undefined,
    events: [
      {
        id: "baseline",
        label: "Baseline",
        day: 1,
        forms: ["visit", "labs"],
        armForms: { b: ["labs"] },
        repeatingForms: ["labs"],
      },
      { id: "unscheduled", label: "Unscheduled", repeatable: true, forms: ["visit", "labs"] },
    ],
    logs: [],
  }),
);

const saved = (event: string, form: string, instance: number): Revision =>
  ({
    study: "small",
    subject: "S1-001",
    site: "s1",
    event,
    form,
    instance,
    rev: 1,
    status: "incomplete",
    data: {},
    definitionVersion: 1,
    committedAt: "2026-01-01T00:00:00Z",
    committedBy: "someone",
    statusFrom: null,
    changes: [],
  }) as Revision;

describe("casebookView", () => {
  it("needs no day one: no windows, no due dates, and reads only the visit dates", () => {
    const view = casebookView(definition, "a", [saved("baseline", "visit", 1)], "2026-06-01");
    expect(view.dayOne).toBeUndefined();
    // A visit with data is still in progress; nothing is upcoming, due or overdue without day 1.
    expect(view.events.map((e) => [e.window, e.timing])).toEqual([
      [undefined, "in-progress"],
      [undefined, undefined],
    ]);
    expect(casebookViewFields(definition)).toEqual(["visit_date"]);
  });

  it("lists the arm's forms at a visit, and each instance of a form repeating there", () => {
    const instances = [saved("baseline", "labs", 1), saved("baseline", "labs", 3)];
    const [a] = casebookView(definition, "a", instances, "2026-06-01").events;
    expect(a?.eventForms).toEqual(["visit", "labs"]);
    expect(a?.forms.map((f) => [f.form, f.instance, f.numbered])).toEqual([
      ["visit", 1, false],
      ["labs", 1, true],
      ["labs", 3, true],
    ]);
    const [b] = casebookView(definition, "b", [], "2026-06-01").events;
    expect(b?.forms.map((f) => [f.form, f.instance, f.status])).toEqual([["labs", 1, "not_started"]]);
  });

  it("numbers every form of a repeatable visit by the visit's instance", () => {
    const view = casebookView(definition, "a", [saved("unscheduled", "visit", 2)], "2026-06-01");
    expect(view.events[1]?.forms.map((f) => [f.form, f.instance, f.numbered])).toEqual([
      ["visit", 2, true],
      ["labs", 2, true],
    ]);
  });
});
