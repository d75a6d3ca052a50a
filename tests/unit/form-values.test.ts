import { describe, expect, it } from "vitest";
import type { Instrument } from "../../functions/engine/definition.ts";
import { displayValue, readFormEntries } from "../../functions/web/form-values.ts";

const instrument: Instrument = {
  $id: "t",
  title: "T",
  type: "object",
  properties: {
    n: { type: "number", "x-unit": "kg" },
    i: { type: "integer" },
    b: { type: "boolean" },
    s: { type: "string" },
    c: {
      type: "integer",
      oneOf: [
        { const: 1, title: "One" },
        { const: 2, title: "Two" },
      ],
    },
    m: {
      type: "array",
      items: {
        type: "string",
        oneOf: [
          { const: "x", title: "Ex" },
          { const: "y", title: "Why" },
        ],
      },
    },
    calc: { type: "number", readOnly: true, "x-calc": 1 },
  },
};

describe("reading an HTML form post", () => {
  it("types values by the schema and drops empty ones", () => {
    expect(
      readFormEntries(instrument, {
        n: " 72.5 ",
        i: "3",
        b: "false",
        s: " text ",
        c: "2",
        m: ["x", "y"],
        calc: "9",
      }),
    ).toEqual({ n: 72.5, i: 3, b: false, s: "text", c: 2, m: ["x", "y"] });
    expect(readFormEntries(instrument, { n: "", b: "", m: [] })).toEqual({});
  });

  it("keeps a single ticked box as a list", () => {
    expect(readFormEntries(instrument, { m: "y" })).toEqual({ m: ["y"] });
  });

  it("keeps unparsable input as text so the engine refuses it visibly", () => {
    expect(readFormEntries(instrument, { n: "seventy", b: "maybe" })).toEqual({ n: "seventy", b: "maybe" });
  });
});

describe("showing a stored value", () => {
  it("uses labels, yes/no and units", () => {
    expect(displayValue(instrument.properties.c, 2)).toBe("Two");
    expect(displayValue(instrument.properties.m, ["x", "y"])).toBe("Ex, Why");
    expect(displayValue(instrument.properties.b, true)).toBe("Yes");
    expect(displayValue(instrument.properties.n, 70)).toBe("70 kg");
    expect(displayValue(instrument.properties.n, null)).toBe("—");
  });
});
