import { describe, expect, it } from "vitest";
import { COLUMNS, importDictionary } from "../../functions/engine/redcap/dictionary.ts";
import { safeHtml } from "../../functions/engine/safe-html.ts";
import { Field } from "../../functions/web/fields.tsx";

/** Issue 14: HTML in labels renders as a safe subset, sanitised on the server; the import reports the rest. */

describe("labels with HTML", () => {
  it("keeps b, i, u, em, strong, br, p and span without attributes; drops the rest, keeping its text", () => {
    expect(safeHtml('<b>Weight</b> <span style="color:red">(kg)</span><br/>')).toEqual({
      html: "<b>Weight</b> <span>(kg)</span><br>",
      dropped: ["<span style>"],
    });
    expect(safeHtml('<img src=x onerror="alert(1)">Photo<script>alert(1)</script>')).toEqual({
      html: "Photoalert(1)",
      dropped: ["<img>", "<script>"],
    });
    expect(safeHtml('<a href="javascript:alert(1)">x</a>').html).toBe("x");
  });

  it("escapes text that is no tag, keeps entities, and closes what the label leaves open", () => {
    expect(safeHtml("Age < 18 & weight > 50 &amp; &#8805;").html).toBe(
      "Age &lt; 18 &amp; weight &gt; 50 &amp; &#8805;",
    );
    expect(safeHtml("<b><i>open").html).toBe("<b><i>open</i></b>");
    expect(safeHtml("<b>a<i>b</b>c</i>").html).toBe("<b>a<i>b</i></b>c");
    expect(safeHtml('"quoted"').html).toBe("&quot;quoted&quot;");
  });

  it("the page renders the safe subset, never the raw markup", () => {
    const html = String(
      Field({
        f: {
          name: "w",
          schema: {
            type: "number",
            title: '<b>Weight</b><img src=x onerror="alert(1)">',
            description: "<i>light</i> clothes",
          },
          value: undefined,
          required: false,
          hidden: false,
          history: [],
        },
      }),
    );
    expect(html).toContain('<label id="l-w" for="f-w"><b>Weight</b></label>');
    expect(html).toContain("<i>light</i> clothes");
    expect(html).not.toContain("<img");
    expect(
      String(
        Field({
          f: {
            name: "t",
            schema: { type: "string", title: "a < b" },
            value: undefined,
            required: false,
            hidden: false,
            history: [],
          },
        }),
      ),
    ).toContain("a &lt; b");
  });

  it("the REDCap import keeps the text as written and reports what the page drops", () => {
    const header = COLUMNS.map((c) => `"${c}"`).join(",");
    const line = (cells: string[]) =>
      [...cells, ...Array(COLUMNS.length - cells.length).fill("")]
        .map((c) => `"${c.replace(/"/g, '""')}"`)
        .join(",");
    const r = importDictionary(
      [
        header,
        line(["record_id", "visit", "", "text", "ID"]),
        line(["w", "visit", "", "text", '<span style="color:red">Weight</span>', "", "<b>kg</b>"]),
      ].join("\n"),
    );
    expect(r.instruments.visit?.properties.w?.title).toBe('<span style="color:red">Weight</span>');
    expect(r.report).toContainEqual(
      expect.objectContaining({
        field: "w",
        column: "Field Label",
        severity: "warning",
        message: expect.stringContaining("<span style>"),
      }),
    );
    expect(r.report.filter((i) => i.field === "w" && i.column === "Field Note")).toEqual([]);
  });
});
