import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeDevKey } from "../../functions/dev-environment.ts";
import { exportNames } from "../../functions/exports/flat.ts";
import { BASE, type Product, startProduct } from "./harness.ts";

/**
 * Every export shape on a small, fixed casebook of the reference study,
 * compared with reviewed golden files (UPDATE_GOLDEN=1 rewrites them).
 */
const GOLDEN = path.join(import.meta.dirname, "../fixtures/golden");
const golden = (name: string, actual: string) => {
  const file = path.join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN || !existsSync(file)) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, "utf8"));
};

let product: Product;
const as = (token: string) => ({ authorization: `Bearer ${token}` });
const get = async (path: string, who = "sponsor") => {
  const res = await product.env.app.request(path, { headers: as(product.token(who)) });
  return { status: res.status, headers: res.headers, text: await res.text() };
};

beforeAll(async () => {
  product = await startProduct();
  const enrol = (site: string, arm: string, subjectId: string) =>
    product.call("POST", `${BASE}/subjects`, { as: site, body: { site, arm, subjectId } });
  await enrol("site-01", "rrms", "01-101");
  await enrol("site-01", "nmo", "01-102");
  await enrol("site-02", "nmo", "02-201");
  const ok = async (p: Promise<{ status: number; body: unknown }>) => {
    const r = await p;
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  };
  await ok(
    product.save("01-101", "screening", "demographics", {
      data: { initials: "AB", date_of_birth: "1980-05-01", sex: "female", height: 165, weight: 60 },
      status: "complete",
    }),
  );
  await ok(
    product.save("01-101", "screening", "diagnosis", {
      data: { diagnosis: "rrms", prior_dmt: ["interferon_beta", "natalizumab"] },
    }),
  );
  await ok(
    product.save("01-101", "screening", "edss", {
      data: { assessment_date: "2024-01-10", edss_total: 3.5 },
      status: "unverified",
    }),
  );
  await ok(
    product.save("01-101", "iv_1", "infusion", { data: { infusion_date: "2024-02-01", route: "iv" } }),
  );
  await ok(
    product.save(
      "01-101",
      "unscheduled",
      "vital_signs",
      { data: { vs_date: "2024-03-03", heart_rate: 88 } },
      { instance: 1 },
    ),
  );
  await ok(
    product.save(
      "01-101",
      "logs",
      "adverse_event",
      { data: { ae_term: '=HYPERLINK("x")', onset_date: "2024-02-02" } },
      { instance: 1 },
    ),
  );
  await ok(
    product.save(
      "01-101",
      "logs",
      "adverse_event",
      { data: { ae_term: "Headache, mild", onset_date: "2024-02-05" } },
      { instance: 2 },
    ),
  );
  await ok(
    product.save("01-102", "screening", "diagnosis", { data: { diagnosis: "nmosd", aqp4_igg: "positive" } }),
  );
  await ok(
    product.save(
      "02-201",
      "screening",
      "demographics",
      { data: { initials: "CD", sex: "male" } },
      { as: "site-02" },
    ),
  );
});
afterAll(() => product.close());

const forms = "forms=demographics,diagnosis,edss,vital_signs,adverse_event";

describe("flat records export", () => {
  it("CSV raw matches the golden file (one row per subject × event × repeat instance)", async () => {
    const res = await get(`${BASE}/records?format=csv&${forms}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/csv");
    golden("records-raw.csv", res.text);
  });

  it("CSV with labels matches the golden file", async () =>
    golden("records-label.csv", (await get(`${BASE}/records?format=csv&rawOrLabel=label&${forms}`)).text));

  it("JSON and NDJSON carry the same rows as the CSV", async () => {
    const csv = parse((await get(`${BASE}/records?format=csv&${forms}`)).text, { columns: true }) as Record<
      string,
      string
    >[];
    const json = JSON.parse((await get(`${BASE}/records?format=json&${forms}`)).text) as Record<
      string,
      unknown
    >[];
    const ndjson = (await get(`${BASE}/records?format=ndjson&${forms}`)).text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    golden("records-raw.json", `${JSON.stringify(json, null, 1)}\n`);
    expect(ndjson).toEqual(json);
    expect(json.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)])))).toEqual(
      csv.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.replace(/^'(?==)/, "")]))),
    );
  });

  it("neutralises spreadsheet formulas in CSV, not in JSON", async () => {
    expect((await get(`${BASE}/records?format=csv&forms=adverse_event`)).text).toContain(
      `"'=HYPERLINK(""x"")"`,
    );
    expect((await get(`${BASE}/records?format=json&forms=adverse_event`)).text).toContain(
      `"=HYPERLINK(\\"x\\")"`,
    );
  });

  it("filters by forms, fields, events, sites and subjects, and refuses unknown ones", async () => {
    const rows = (q: string) => parse(q, { columns: true }) as Record<string, string>[];
    const byEvent = rows((await get(`${BASE}/records?format=csv&events=screening&fields=edss_total`)).text);
    expect(Object.keys(byEvent[0] ?? {})).toContain("edss_total");
    expect(new Set(byEvent.map((r) => r.redcap_event_name))).toEqual(
      new Set(["screening_arm_1", "screening_arm_2"]),
    );
    const site2 = rows((await get(`${BASE}/records?format=csv&sites=site-02&forms=demographics`)).text);
    expect(site2.map((r) => r.record_id)).toEqual(["02-201"]);
    const one = rows((await get(`${BASE}/records?format=csv&subjects=01-102`)).text);
    expect(new Set(one.map((r) => r.record_id))).toEqual(new Set(["01-102"]));
    const bad = await get(`${BASE}/records?forms=nope`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).errors[0].pointer).toBe("/forms");
  });

  it("pages by subject with a cursor; the pages add up to the whole export exactly once", async () => {
    const seen: string[] = [];
    let url: string | null = `${BASE}/records?format=ndjson&limit=1&forms=diagnosis,demographics`;
    let pages = 0;
    while (url) {
      const res = await product.env.app.request(url, { headers: as(product.token("sponsor")) });
      const text = await res.text();
      for (const line of text.trim().split("\n").filter(Boolean)) seen.push(JSON.parse(line).record_id);
      url = /<([^>]+)>; rel="next"/.exec(res.headers.get("link") ?? "")?.[1] ?? null;
      pages += 1;
    }
    expect(pages).toBe(3);
    expect([...new Set(seen)]).toEqual(["01-101", "01-102", "02-201"]);
  });

  it("shows a site-scoped sponsor only its sites", async () => {
    const token = "sponsor-site-02-token";
    await storeDevKey(product.env.store, token, {
      user: "s2",
      role: "sponsor",
      study: product.env.studyId,
      sites: ["site-02"],
    });
    const res = await product.env.app.request(`${BASE}/records?format=json`, { headers: as(token) });
    const ids = new Set((JSON.parse(await res.text()) as { record_id: string }[]).map((r) => r.record_id));
    expect(ids).toEqual(new Set(["02-201"]));
  });
});

describe("de-identified export", () => {
  it("drops identifiers, shifts each subject's dates by one stable offset, and can hash ids", async () => {
    const plain = JSON.parse((await get(`${BASE}/records?format=json&subjects=01-101`)).text) as Record<
      string,
      unknown
    >[];
    const deid = JSON.parse(
      (await get(`${BASE}/records?format=json&subjects=01-101&deidentify=true&hashIds=true`)).text,
    ) as Record<string, unknown>[];
    expect(Object.keys(deid[0] ?? {})).not.toContain("initials");
    expect(Object.keys(deid[0] ?? {})).not.toContain("date_of_birth");
    const hashed = deid[0]?.record_id as string;
    expect(hashed).toMatch(/^[0-9a-f]{16}$/);
    expect(deid.every((r) => r.record_id === hashed)).toBe(true);
    const date = (rows: Record<string, unknown>[], event: string, field: string) =>
      String(rows.find((r) => r.redcap_event_name === event && r[field])?.[field]);
    const days = (a: string, b: string) => (Date.parse(b) - Date.parse(a)) / 86_400_000;
    const shift = days(
      date(plain, "screening_arm_1", "assessment_date"),
      date(deid, "screening_arm_1", "assessment_date"),
    );
    expect(shift).not.toBe(0);
    expect(Math.abs(shift)).toBeLessThanOrEqual(180);
    expect(days(date(plain, "iv_1_arm_1", "infusion_date"), date(deid, "iv_1_arm_1", "infusion_date"))).toBe(
      shift,
    );
    // Stable: the same subject gets the same key and shift on every export.
    const again = JSON.parse(
      (await get(`${BASE}/records?format=json&subjects=01-101&deidentify=true&hashIds=true`)).text,
    );
    expect(again).toEqual(deid);
  });

  it("is forced for a token made de-identified", async () => {
    await storeDevKey(product.env.store, "deid-token", {
      user: "stats",
      role: "sponsor",
      study: product.env.studyId,
      sites: ["*"],
      deidentified: true,
    });
    const res = await product.env.app.request(`${BASE}/records?format=csv&forms=demographics`, {
      headers: as("deid-token"),
    });
    const text = await res.text();
    expect(text.split("\n")[0]).not.toContain("initials");
    expect(text).not.toContain("01-101");
  });
});

describe("metadata exports", () => {
  for (const kind of ["arms", "events", "form-event-mapping", "instruments", "export-field-names"]) {
    it(`${kind} matches the golden file`, async () => {
      const res = await get(`${BASE}/metadata/${kind}?format=csv`);
      expect(res.status).toBe(200);
      golden(`metadata-${kind}.csv`, res.text);
    });
  }
});

describe("CDISC ODM over HTTP", () => {
  const xsd = [
    path.resolve(import.meta.dirname, "../../../shared/standards/odm-1.3.2"),
    "/work/shared/standards/odm-1.3.2",
  ].find((d) => existsSync(path.join(d, "ODM1-3-2.xsd")));
  const xmllint = spawnSync("xmllint", ["--version"]).status === 0;
  const canValidate = xmllint && xsd !== undefined;
  if (!canValidate && process.env.CI)
    throw new Error("CI must have xmllint (libxml2-utils) and ../shared/standards");

  it.skipIf(!canValidate)(
    "streams a study with audit records that validates against the ODM 1.3.2 XSD",
    async () => {
      const res = await get(`${BASE}/odm?audit=true`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("application/xml");
      const file = path.join(mkdtempSync(path.join(tmpdir(), "odm-")), "study.xml");
      writeFileSync(file, res.text);
      const check = spawnSync(
        "xmllint",
        ["--noout", "--nonet", "--schema", path.join(xsd as string, "ODM1-3-2.xsd"), file],
        {
          encoding: "utf8",
        },
      );
      expect(check.status, check.stderr).toBe(0);
      expect(res.text).toContain('FileType="Transactional"');
      expect((res.text.match(/<SubjectData /g) ?? []).length).toBe(3);
      expect(res.text).toContain("<AuditRecord");
      expect(res.text).toContain('SubjectKey="01-101"');
    },
  );

  it.skipIf(!canValidate)(
    "de-identifies: no identifier items, hashed subject keys, still valid",
    async () => {
      const res = await get(`${BASE}/odm?deidentify=true&hashIds=true`);
      const file = path.join(mkdtempSync(path.join(tmpdir(), "odm-")), "deid.xml");
      writeFileSync(file, res.text);
      expect(
        spawnSync("xmllint", [
          "--noout",
          "--nonet",
          "--schema",
          path.join(xsd as string, "ODM1-3-2.xsd"),
          file,
        ]).status,
      ).toBe(0);
      expect(res.text).not.toContain("I.demographics.initials");
      expect(res.text).not.toContain('SubjectKey="01-101"');
    },
  );
});

// Issue 8 item 11: AdminData of an audited ODM names only the authors of the exported audit records.
describe("ODM audit users", () => {
  it("lists to a site user only the users who appear in its exported records", async () => {
    await storeDevKey(product.env.store, "revoked-token", {
      user: "revoked-person",
      role: "sponsor",
      study: product.env.studyId,
      sites: ["*"],
    });
    const info = (await product.env.store.listTokens(product.env.studyId)).find(
      (t) => t.user === "revoked-person",
    );
    await product.env.store.revokeToken(product.env.studyId, info?.id ?? "", "dev-builder");
    const res = await get(`${BASE}/odm?audit=true`, "site-01");
    expect(res.status).toBe(200);
    const declared = [...res.text.matchAll(/<LoginName>([^<]*)<\/LoginName>/g)].map((m) => m[1]).sort();
    const referenced = [
      ...new Set([...res.text.matchAll(/<UserRef UserOID="U\.([^"]*)"/g)].map((m) => m[1])),
    ].sort();
    expect(referenced.length).toBeGreaterThan(0);
    expect(declared).toEqual(referenced);
    for (const outsider of ["dev-site-02", "dev-sponsor", "dev-monitor", "dev-builder", "revoked-person"])
      expect(declared).not.toContain(outsider);
  });
});

describe("fields that share a name across forms", () => {
  it("export under REDCap's unique names, so no value is lost and records match the dictionary", async () => {
    await product.call("POST", `${BASE}/subjects`, {
      as: "site-01",
      body: { site: "site-01", arm: "rrms", subjectId: "01-103" },
    });
    for (const [form, data] of [
      ["demographics", { weight: 60 }],
      ["vital_signs", { vs_date: "2024-03-03", weight: 61 }],
    ] as const) {
      const saved = await product.save("01-103", "screening", form, { data });
      expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    }
    const json = JSON.parse((await get(`${BASE}/records?format=json&subjects=01-103`, "site-01")).text);
    const screening = json.find((r: Record<string, unknown>) => r.redcap_event_name === "screening_arm_1");
    expect(Object.values(screening)).toEqual(expect.arrayContaining([60, 61]));
    const header = parse((await get(`${BASE}/records?format=csv`)).text, { to: 1 })[0] as string[];
    expect(header.length).toBe(new Set(header).size);
    // The data dictionary (REDCap's metadata) and the export field names name the same columns.
    const names = JSON.parse((await get(`${BASE}/metadata/export-field-names`)).text).map(
      (r: { export_field_name: string }) => r.export_field_name,
    );
    // As REDCap's, the export field names leave out calculations: they cannot be imported.
    const definition = await product.env.store.definitions.current(product.env.studyId);
    if (!definition) throw new Error("no definition");
    const calculated = new Set(
      [...exportNames(definition)].flatMap(([form, fields]) =>
        [...fields]
          .filter(([field]) => definition.instruments[form]?.properties[field]?.["x-calc"] !== undefined)
          .map(([, name]) => name),
      ),
    );
    expect(calculated.size).toBeGreaterThan(0);
    const dataColumns = header.filter(
      // subject_status is the engine's own column (the subject's status), not a field of the dictionary.
      (h) =>
        h !== "record_id" &&
        h !== "subject_status" &&
        !h.startsWith("redcap_") &&
        !h.endsWith("_complete") &&
        !calculated.has(h),
    );
    for (const column of dataColumns) expect(names).toContain(column);
    expect(names.length).toBe(new Set(names).size);
  });
});
