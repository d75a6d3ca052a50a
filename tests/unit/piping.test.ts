import { describe, expect, it } from "vitest";
import { checkDefinition } from "../../functions/engine/check-definition.ts";
import type { Instrument } from "../../functions/engine/definition.ts";
import {
  outsideRefs,
  outsideValues,
  PIPE_BLANK,
  parsePiping,
  pipeResolver,
  renderPiped,
} from "../../functions/engine/piping.ts";
import { adverseEvent, instrument, labs, smallStudy, visit } from "./small-study.ts";

const demographics: Instrument = {
  $id: "demographics",
  title: "Demographics",
  type: "object",
  properties: {
    name: { type: "string", title: "Name" },
    sex: {
      type: "integer",
      title: "Sex",
      oneOf: [
        { const: 1, title: "Female" },
        { const: 2, title: "Male" },
      ],
    },
  },
} as Instrument;

const vitals: Instrument = {
  $id: "vitals",
  title: "Vitals",
  type: "object",
  properties: {
    greeting: { type: "null", title: "Hello {{demographics.name}} ({{demographics.sex}})" },
    weight: { type: "number", title: "Weight of {{ nickname }} at {{event.label}}" },
    nickname: { type: "string", title: "Nickname of {{subject.id}} #{{instance}}" },
    sexcode: { type: "string", title: "Code {{baseline.demographics.sex:value}}" },
  },
} as Instrument;

describe("piping", () => {
  it("cuts a text into literals and references, and leaves what is not a reference as written", () => {
    expect(parsePiping("Hi {{name}}, {{ not a ref }} {{a.b.c.d}}")).toEqual([
      "Hi ",
      { ref: { kind: "field", field: "name", raw: false }, source: "{{name}}" },
      ", {{ not a ref }} {{a.b.c.d}}",
    ]);
    expect(renderPiped("no piping here", () => "x")).toBe("no piping here");
  });

  it("pipes this form's values live, a choice as its label, and an empty value as a visible blank", () => {
    const resolve = pipeResolver(vitals, { nickname: "Bob" }, {});
    expect(renderPiped(vitals.properties.weight?.title ?? "", resolve)).toBe(
      `Weight of Bob at ${PIPE_BLANK}`,
    );
    const own = pipeResolver(demographics, { sex: 2 }, {});
    expect(renderPiped("{{sex}} / {{sex:value}} / {{name}}", own)).toBe(`Male / 2 / ${PIPE_BLANK}`);
    expect(renderPiped("{{unknown_field}}", own)).toBe(PIPE_BLANK);
  });

  it("reads other forms (latest, or at one event) and where the form is, once on the server", () => {
    const refs = outsideRefs(vitals);
    const values = outsideValues(refs, {
      instruments: { demographics, vitals },
      instances: [
        {
          event: "baseline",
          form: "demographics",
          instance: 1,
          data: { name: "<script>x</script>", sex: 1 },
          committedAt: "2026-01-01",
        },
        { event: "week_1", form: "demographics", instance: 1, data: { sex: 2 }, committedAt: "2026-01-02" },
      ],
      subject: "S-001",
      eventLabel: "Week 1",
      instance: 3,
    });
    expect(values).toEqual({
      "demographics.name": "<script>x</script>",
      "demographics.sex": "Male",
      "event.label": "Week 1",
      "subject.id": "S-001",
      instance: "3",
      "baseline.demographics.sex:value": "1",
    });
    const resolve = pipeResolver(vitals, {}, values);
    expect(renderPiped(vitals.properties.greeting?.title ?? "", resolve)).toBe(
      "Hello <script>x</script> (Male)",
    );
    expect(renderPiped(vitals.properties.nickname?.title ?? "", resolve)).toBe("Nickname of S-001 #3");
  });

  it("does not let an entered-in-error instance pipe its values", () => {
    const values = outsideValues([{ kind: "form", form: "demographics", field: "name", raw: false }], {
      instruments: { demographics },
      instances: [
        {
          event: "baseline",
          form: "demographics",
          instance: 1,
          data: { name: "Gone" },
          committedAt: "2026-01-01",
          enteredInError: true,
        },
      ],
      subject: "S-001",
      eventLabel: "Baseline",
      instance: 1,
    });
    expect(values["demographics.name"]).toBe(PIPE_BLANK);
  });
});

describe("forms:check on piping", () => {
  const check = (titles: Record<string, string>) => {
    const piped = instrument("labs", {
      ...labs.properties,
      hb: {
        type: "number",
        title: titles.title ?? "Haemoglobin",
        description: titles.description,
        oneOf: titles.choice ? [{ const: 1, title: titles.choice }] : undefined,
      },
    });
    return checkDefinition({
      study: { path: "study.json", json: smallStudy() },
      instruments: [visit, piped, adverseEvent].map((json) => ({
        path: `instruments/${json.$id}.json`,
        json: JSON.parse(JSON.stringify(json)),
      })),
    }).errors;
  };

  it("accepts references to fields, forms and events that exist", () => {
    expect(
      check({
        title: "Hb of {{subject.id}} at {{event.label}} #{{instance}}: {{sampled_at}}",
        description: "{{visit.initials}} {{baseline.visit.weight}} {{logs.adverse_event.ae_term:value}}",
      }),
    ).toEqual([]);
  });

  it("reports unknown references with a pointer to the text", () => {
    expect(
      check({
        title: "{{sampled_att}}",
        description: "{{visit.wieght}} {{week_9.visit.weight}} {{unscheduled.labs.hb}} {{ Nope }}",
        choice: "{{vist.weight}}",
      }),
    ).toEqual([
      {
        file: "instruments/labs.json",
        pointer: "/properties/hb/title",
        message: expect.stringMatching(/^\{\{sampled_att\}\}: "labs" has no field "sampled_att".*sampled_at/),
      },
      {
        file: "instruments/labs.json",
        pointer: "/properties/hb/description",
        message: expect.stringContaining("{{ Nope }} is not a piping reference"),
      },
      {
        file: "instruments/labs.json",
        pointer: "/properties/hb/description",
        message: expect.stringMatching(/"visit" has no field "wieght".*weight/),
      },
      {
        file: "instruments/labs.json",
        pointer: "/properties/hb/description",
        message: expect.stringContaining('piped event "week_9" is not an event'),
      },
      {
        file: "instruments/labs.json",
        pointer: "/properties/hb/description",
        message: 'form "labs" is not collected at event "unscheduled"',
      },
      {
        file: "instruments/labs.json",
        pointer: "/properties/hb/oneOf/0/title",
        message: expect.stringMatching(/piped form "vist" is not an instrument.*visit/),
      },
    ]);
  });
});
