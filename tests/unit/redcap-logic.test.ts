import { describe, expect, it } from "vitest";
import {
  type LogicFields,
  normalizeRedcap,
  parseRedcap,
  printRedcap,
  toJsonLogic,
  toRedcap,
} from "../../functions/engine/redcap/logic.ts";

const fields: LogicFields = {
  sex: { kind: "choice", codes: [0, 1], form: "f" },
  radio: { kind: "choice", codes: ["1", "2", "ABC"], form: "f" },
  yn: { kind: "boolean", form: "f" },
  cb: { kind: "checkbox", codes: [1, 2, "other"], form: "f" },
  n: { kind: "number", form: "f" },
  m: { kind: "number", form: "f" },
  d1: { kind: "date", form: "f" },
  d2: { kind: "date", form: "f" },
  t: { kind: "text", form: "f" },
  note: { kind: "none", form: "f" },
  baseline_weight: { kind: "number", form: "g" },
};

const logicOf = (expr: string, as: "condition" | "value" = "condition") => {
  const r = toJsonLogic(expr, fields, { form: "f", as });
  if ("error" in r) throw new Error(r.error);
  return r.logic;
};
const errorOf = (expr: string, as: "condition" | "value" = "condition") => {
  const r = toJsonLogic(expr, fields, { form: "f", as });
  return "error" in r ? r.error : undefined;
};
const v = (name: string) => ({ var: name });

describe("reading REDCap logic", () => {
  it("follows REDCap's precedence: or < and < comparison < + - < * / < unary minus < ^", () => {
    const print = (s: string) => {
      const p = parseRedcap(s);
      if (!("ast" in p)) throw new Error(p.error);
      return printRedcap(p.ast);
    };
    expect(print("[a] = 1 or [b] = 2 and [c] = 3")).toBe("[a] = 1 or ([b] = 2 and [c] = 3)");
    expect(print("([a] = 1 or [b] = 2) and [c] = 3")).toBe("([a] = 1 or [b] = 2) and [c] = 3");
    expect(print("[a] + [b] * [c] >= 10 - -[d]")).toBe("[a] + [b] * [c] >= 10 - -[d]");
    expect(print("([a] + [b]) * [c]")).toBe("([a] + [b]) * [c]");
    expect(print("[a] - ([b] - [c])")).toBe("[a] - ([b] - [c])");
    expect(print("-([a])^(2)")).toBe("-([a])^(2)");
    expect(print("[visit_1_arm_1][weight] > [cb(2)]")).toBe("[visit_1_arm_1][weight] > [cb(2)]");
  });

  it("says where it cannot read an expression", () => {
    expect(parseRedcap("[a] = '1")).toEqual({ error: "unclosed quote at 7" });
    expect(parseRedcap("([a] = 1")).toEqual({ error: 'expected ")" at 9' });
    expect(parseRedcap("[a] = 1 [b]")).toEqual({ error: "unexpected [b] at 9" });
    expect(parseRedcap("[a] # 1")).toEqual({ error: 'unexpected "#" at 5' });
  });

  it("normalises REDCap's equivalent spellings to one", () => {
    const same = [
      [`[sex] = "0" AND [yn]='1'`, `[sex] = 0 and [yn] = 1`],
      [`'1' = [sex]`, `[sex] = '1'`],
      [`[a] == 1 or ([b] != 2)`, `[a] = 1 or [b] <> 2`],
      [`round(([w]*10000)/(([h])^(2)),1)`, `round([w] * 10000 / ([h] * [h]), 1)`],
      [`datediff([a],[b],"d","ymd",false)`, `datediff([a], [b], 'd')`],
      [`datediff([a],[b],'y', 'dmy', 'true')`, `datediff([a], [b], 'y', true)`],
      [`round([x])`, `round([x], 0)`],
    ];
    for (const [a, b] of same) expect(normalizeRedcap(a as string), a).toBe(normalizeRedcap(b as string));
    expect(normalizeRedcap("[a] = 1")).not.toBe(normalizeRedcap("[a] = 2"));
    // text functions take text: '-01' is not the number -1 there
    expect(normalizeRedcap("concat([a], '-01')")).not.toBe(normalizeRedcap("concat([a], -1)"));
    expect(normalizeRedcap("left([a], '2')")).toBe(normalizeRedcap("left([a], 2)"));
    expect(normalizeRedcap("[a] = 'x")).toBeUndefined();
  });
});

describe("REDCap logic → JSON Logic", () => {
  it("types a compared value like the field it is compared with", () => {
    expect(logicOf("[sex] = '0'")).toEqual({ "==": [v("sex"), 0] });
    expect(logicOf("[radio] = 'ABC'")).toEqual({ "==": [v("radio"), "ABC"] });
    expect(logicOf("[yn] = '1'")).toEqual({ "==": [v("yn"), true] });
    expect(logicOf("[yn] <> '1'")).toEqual({ "!=": [v("yn"), true] });
    expect(logicOf("[n] = 5")).toEqual({ "==": [v("n"), 5] });
  });

  it("reads a checkbox option as checked or not", () => {
    expect(logicOf("[cb(2)] = '1'")).toEqual({ in: [2, v("cb")] });
    expect(logicOf("[cb(other)] = '0'")).toEqual({ "!": { in: ["other", v("cb")] } });
    expect(logicOf("[cb(2)] = '2'")).toBe(false);
  });

  it("keeps REDCap's empty value: '' sorts before everything, so [x] < 5 holds while x is empty", () => {
    expect(logicOf(`[t] <> ""`)).toEqual({ "!": { isempty: v("t") } });
    expect(logicOf("[n] = ''")).toEqual({ isempty: v("n") });
    expect(logicOf("[n] < 5")).toEqual({ or: [{ isempty: v("n") }, { "<": [v("n"), 5] }] });
    expect(logicOf("[n] >= 5")).toEqual({ and: [{ "!": { isempty: v("n") } }, { ">=": [v("n"), 5] }] });
    expect(logicOf("[d1] > '2024-01-01'")).toEqual({
      and: [{ "!": { isempty: v("d1") } }, { ">": [v("d1"), "2024-01-01"] }],
    });
  });

  it("turns a comparison over a choice field into the codes it holds for", () => {
    expect(logicOf("[radio] <> '2'")).toEqual({ "!=": [v("radio"), "2"] });
    expect(logicOf("[radio] > '1'")).toEqual({ in: [v("radio"), ["2", "ABC"]] });
    expect(logicOf("[sex] >= 1")).toEqual({ and: [{ "!": { isempty: v("sex") } }, { ">=": [v("sex"), 1] }] });
  });

  it("makes arithmetic empty when an operand is empty, as REDCap does", () => {
    expect(logicOf("round([n] * 10000 / ([m])^(2), 1)", "value")).toEqual({
      round: [
        {
          if: [{ missing: ["n", "m"] }, null, { "/": [{ "*": [v("n"), 10000] }, { "*": [v("m"), v("m")] }] }],
        },
        1,
      ],
    });
    expect(logicOf("if([yn] = '1', [n], '')", "value")).toEqual({
      if: [{ "==": [v("yn"), true] }, v("n"), null],
    });
  });

  it("keeps datediff unsigned unless told otherwise, and converts hours", () => {
    const days = { datediff: [v("d1"), v("d2"), "d"] };
    expect(logicOf(`datediff([d1],[d2],"d","ymd",true)`, "value")).toEqual(days);
    expect(logicOf(`datediff([d1],[d2],"d")`, "value")).toEqual({
      if: [{ "<": [days, 0] }, { "-": [0, days] }, days],
    });
    expect(logicOf(`datediff([d1],'05-31-2007',"y","mdy",true)`, "value")).toEqual({
      datediff: [v("d1"), "2007-05-31", "y"],
    });
    expect(logicOf(`datediff([d1],[d2],"h",true)`, "value")).toEqual({
      if: [{ isempty: days }, null, { "*": [days, 24] }],
    });
  });

  it("reads a field of another instrument as its latest value, with a warning", () => {
    const r = toJsonLogic("[baseline_weight] > 80", fields, { form: "f" });
    expect(r).toEqual({
      logic: {
        and: [
          { "!": { isempty: v("$latest.g.baseline_weight") } },
          { ">": [v("$latest.g.baseline_weight"), 80] },
        ],
      },
      warnings: [expect.stringMatching(/instrument "g": read as the latest value/)],
    });
  });

  it("refuses, with a reason, what JSON Logic cannot say exactly", () => {
    expect(errorOf("exponential([n]) > 2")).toBe("function exponential() has no JSON Logic equivalent");
    expect(errorOf("left([t])")).toBe("left() takes 2 arguments, not 1");
    expect(errorOf("[n][2] > 2")).toMatch(/reads one instance/);
    expect(errorOf("[cb] = '1'")).toMatch(/one option at a time/);
    expect(errorOf("[nope] = '1'")).toBe('"nope" is not a field of this dictionary');
    expect(errorOf("[note] = '1'")).toMatch(/display-only/);
    expect(errorOf("([n])^(0.5)", "value")).toMatch(/whole-number exponent/);
    expect(errorOf("[user-name] = 'x'")).toMatch(/smart variable \[user-name\]/);
    expect(errorOf("[n] = 1 and")).toMatch(/cannot read the expression/);
  });

  it("reads 'today' and 'now' in datediff as the evaluation's clock", () => {
    expect(logicOf(`datediff([d1],'today','y',true)`, "value")).toEqual({
      datediff: [v("d1"), { today: [] }, "y"],
    });
    expect(logicOf(`datediff('NOW',[d1],'d',true)`, "value")).toEqual({
      datediff: [{ now: [] }, v("d1"), "d"],
    });
  });

  it("maps REDCap's text and date functions to the engine's operations of the same name", () => {
    expect(logicOf("sqrt([n])", "value")).toEqual({ sqrt: [v("n")] });
    expect(logicOf("year([d1])", "value")).toEqual({ year: [v("d1")] });
    expect(logicOf("mid([t], 2, 3)", "value")).toEqual({ mid: [v("t"), 2, 3] });
    expect(logicOf("contains([t], 'x')")).toEqual({ contains: [v("t"), "x"] });
    expect(logicOf("concat([t], '-', [n])", "value")).toEqual({ concat: [v("t"), "-", v("n")] });
  });

  it("keeps a quoted text argument as text: '-01' in a concat is not the number -1", () => {
    expect(logicOf("concat([t], '-0', [n], '-01')", "value")).toEqual({
      concat: [v("t"), "-0", v("n"), "-01"],
    });
    expect(logicOf("contains([t], '007')")).toEqual({ contains: [v("t"), "007"] });
    expect(logicOf("left('0123', 2)", "value")).toEqual({ left: ["0123", 2] });
  });

  it("reads [event][field] as that field's latest value at that event", () => {
    expect(logicOf("[enrollment_arm_1][sex] = '1'")).toEqual({
      "==": [v("$events.enrollment_arm_1.f.sex"), 1],
    });
    expect(logicOf("[visit_1_arm_1][cb(2)] = '1'")).toEqual({ in: [2, v("$events.visit_1_arm_1.f.cb")] });
    const renamed = toJsonLogic("[baseline_arm_1][baseline_weight] * 2", fields, {
      form: "f",
      as: "value",
      events: { baseline_arm_1: "baseline" },
    });
    expect(renamed).toEqual({
      logic: {
        if: [
          { missing: ["$events.baseline.g.baseline_weight"] },
          null,
          { "*": [v("$events.baseline.g.baseline_weight"), 2] },
        ],
      },
      warnings: [],
    });
  });

  it("reads [event-name] as the event the form belongs to", () => {
    expect(logicOf("[event-name] = 'baseline'")).toEqual({ "==": [v("$event"), "baseline"] });
  });
});

describe("JSON Logic → REDCap", () => {
  const redcapOf = (logic: unknown, as: "condition" | "value" = "condition") => {
    const r = toRedcap(logic, fields, { form: "f", as });
    if ("error" in r) throw new Error(r.error);
    return r.expr;
  };

  it("gives back the REDCap spelling each translated expression came from", () => {
    const expressions = [
      "[sex] = '0' and [yn] = '1'",
      "[cb(2)] = '1' or [cb(other)] = '0'",
      "([radio] = '2' and [yn] = '0') or [cb(1)] = '1'",
      "[n] < 0",
      "[n] >= 5",
      "[t] > 5",
      "[n] > [m]",
      "[d1] <= [d2]",
      "[t] <> ''",
      "[radio] = 'ABC'",
      "[d1] > '2024-01-01'",
      "[event-name] <> 'screening'",
      "[enrollment_arm_1][sex] = '1' and [visit_1_arm_1][cb(other)] = '0'",
      "[enrollment_arm_1][n] > [m]",
    ];
    for (const e of expressions) expect(normalizeRedcap(redcapOf(logicOf(e))), e).toBe(normalizeRedcap(e));
    const calculations = [
      "round(([n]*10000)/(([m])^(2)),1)",
      "if([yn]='1',datediff([d1],[d2],'d'),if([sex]='1',[n]*365,''))",
      "rounddown(datediff([d1],[d2],'y'))",
      "roundup([n] / 3, 2)",
      "sum([n],[m])",
      "min([n],[m])",
      "mean([n],[m],5)",
      "datediff([d1],[d2],'h',true)",
      "abs([n]-[m])",
      "mod([n], 7)",
      "datediff([d1],'today','y',true)",
      // unsigned, with REDCap's clock: read back as written, not as abs() of a signed one
      "rounddown(datediff([d1],'today','y'), 0)",
      "rounddown(datediff([d1],'now','h',true))",
      "sqrt([n]) + year([d1])",
      "if(contains([t], 'a'), length([t]), find('x', upper([t])))",
      "concat(left([t], 2), right([t], 1), mid([t], 1, 1), lower([t]), trim([t]))",
      "if(starts_with([t], 'a') and ends_with([t], 'z'), month([d1]), day([d1]))",
      "[enrollment_arm_1][baseline_weight] - [baseline_weight]",
    ];
    for (const e of calculations) {
      expect(normalizeRedcap(redcapOf(logicOf(e, "value"), "value")), e).toBe(normalizeRedcap(e));
    }
  });

  it("spells the engine's own JSON Logic with REDCap's meaning of empty", () => {
    expect(redcapOf({ "!": v("yn") })).toBe("[yn] <> '1'");
    expect(redcapOf({ "==": [v("yn"), false] })).toBe("[yn] = '0'");
    expect(redcapOf({ in: ["other", v("cb")] })).toBe("[cb(other)] = '1'");
    expect(redcapOf({ in: [v("radio"), ["1", "ABC"]] })).toBe("[radio] = '1' or [radio] = 'ABC'");
    // json-logic reads an empty field as 0 in "<" and ">": so does the REDCap spelling
    expect(redcapOf({ ">": [v("n"), -1] })).toBe("[n] = '' or [n] > -1");
    expect(redcapOf({ "<": [v("n"), -1] })).toBe("[n] <> '' and [n] < -1");
    expect(redcapOf({ "<": [v("n"), 5] })).toBe("[n] < 5");
    expect(redcapOf({ or: [v("n"), v("m")] }, "value")).toBe("if([n] <> '' and [n] <> 0, [n], [m])");
    expect(redcapOf({ datediff: [v("d1"), v("d2"), "w"] }, "value")).toBe(
      "datediff([d1], [d2], 'd', 'ymd', true) / 7",
    );
  });

  it("refuses what REDCap's dictionary cannot say", () => {
    const errorOfLogic = (logic: unknown) => {
      const r = toRedcap(logic, fields, { form: "f" });
      return "error" in r ? r.error : undefined;
    };
    expect(errorOfLogic({ "==": [v("$arm"), "nmo"] })).toMatch(/\$arm has no REDCap equivalent/);
    expect(errorOfLogic({ in: ["abc", v("t")] })).toMatch(/substring/);
    expect(errorOfLogic({ "==": [{ cat: [v("t"), "x"] }, "ax"] })).toMatch(/"cat" has no REDCap equivalent/);
    expect(errorOfLogic({ "==": [v("nope"), 1] })).toBe('"nope" is not a field');
  });
});
