import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { BASE, Product } from "./harness.ts";

let product: Product;
beforeAll(async () => {
  product = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
});
afterAll(() => product.close());

const FIELD = { event: "screening", form: "edss", field: "edss_total" };
const queriesOf = (subject: string) => `${BASE}/subjects/${subject}/queries`;

const raise = (subject: string, body: unknown, as = "monitor") =>
  product.call("POST", queriesOf(subject), { as, body });
const act = (subject: string, query: string, action: string, body: unknown, as: string) =>
  product.call("POST", `${queriesOf(subject)}/${query}/${action}`, { as, body });
const reviewItems = async () => (await product.snapshot()).filter((i) => i.includes('"type":"review"'));

async function subjectWithEdss(): Promise<string> {
  const subject = await product.enrol();
  const saved = await product.save(subject, "screening", "edss", { data: { edss_total: 2 } });
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  return subject;
}

describe("a query's life", () => {
  it("opens, is answered by the site, closed and reopened by the monitor, every step audited", async () => {
    const subject = await subjectWithEdss();
    const opened = await raise(subject, {
      target: FIELD,
      text: "EDSS 2 with all functional systems at 0?",
      assignee: { role: "coordinator" },
    });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    expect(opened.body).toMatchObject({
      subject,
      site: "site-01",
      state: "open",
      scope: "field",
      target: { ...FIELD, instance: 1 },
      assignee: { role: "coordinator" },
      openedBy: "dev-monitor",
    });
    const id = opened.body.id as string;
    expect(id).toMatch(/^q_[a-z2-7]{10}$/);

    const answered = await act(subject, id, "answer", { text: "Checked the source: 2 is right." }, "site-01");
    expect(answered.status, JSON.stringify(answered.body)).toBe(200);
    expect(answered.body.state).toBe("answered");

    const closed = await act(subject, id, "close", { text: "Thanks" }, "monitor");
    expect(closed.body).toMatchObject({ state: "closed", closedAt: expect.any(String) });

    const reopened = await act(subject, id, "reopen", { text: "The source says 3" }, "monitor");
    expect(reopened.body.state).toBe("open");

    const listed = await product.call("GET", queriesOf(subject), { as: "site-01" });
    expect(listed.body.queries).toHaveLength(1);
    expect(
      listed.body.queries[0].messages.map((m: { action: string; by: string }) => [m.action, m.by]),
    ).toEqual([
      ["query-open", "dev-monitor"],
      ["query-answer", "dev-site-01"],
      ["query-close", "dev-monitor"],
      ["query-reopen", "dev-monitor"],
    ]);
  });

  it("validates the target against the definition, with a pointer", async () => {
    const subject = await subjectWithEdss();
    for (const [target, pointer] of [
      [{ event: "nowhere" }, "/target/event"],
      [{ event: "screening", form: "no_such_form" }, "/target/form"],
      [{ ...FIELD, field: "no_such_field" }, "/target/field"],
      [{ form: "edss" }, "/target/event"],
    ] as const) {
      const res = await raise(subject, { target, text: "?" });
      expect(res.status, JSON.stringify(target)).toBe(422);
      expect(res.body.errors[0].pointer).toBe(pointer);
    }
    const role = await raise(subject, { target: FIELD, text: "?", assignee: { role: "nurse" } });
    expect(role.status).toBe(422);
    expect(role.body.errors[0].pointer).toBe("/assignee/role");
    const person = await raise(subject, { target: FIELD, text: "?", assignee: { person: "nobody" } });
    expect(person.status).toBe(422);
    expect(person.body.errors[0].pointer).toBe("/assignee/person");
    const visit = await raise(subject, { target: { event: "screening" }, text: "Visit date?" });
    expect(visit.body).toMatchObject({ scope: "visit", target: { event: "screening" } });
    const whole = await raise(subject, { target: {}, text: "Consent copy?" });
    expect(whole.body.scope).toBe("subject");
  });
});

describe("refusals", () => {
  it("a site cannot close (403), nor raise; a monitor cannot answer; nothing is appended", async () => {
    const subject = await subjectWithEdss();
    const { body } = await raise(subject, { target: FIELD, text: "?" });
    const before = await reviewItems();
    expect((await act(subject, body.id, "close", {}, "site-01")).status).toBe(403);
    expect((await act(subject, body.id, "reopen", { text: "x" }, "site-01")).status).toBe(403);
    expect((await raise(subject, { target: FIELD, text: "?" }, "site-01")).status).toBe(403);
    expect((await act(subject, body.id, "answer", { text: "x" }, "monitor")).status).toBe(403);
    expect(await reviewItems()).toEqual(before);
  });

  it("answering a closed query, closing it twice or reopening an open one is a 409 that appends nothing", async () => {
    const subject = await subjectWithEdss();
    const { body } = await raise(subject, { target: FIELD, text: "?" });
    expect((await act(subject, body.id, "reopen", { text: "x" }, "monitor")).body).toMatchObject({
      status: 409,
      type: "urn:edc:problem:query-state",
      code: "already-open",
    });
    await act(subject, body.id, "close", {}, "monitor");
    const before = await reviewItems();
    const answer = await act(subject, body.id, "answer", { text: "late" }, "site-01");
    expect(answer.status).toBe(409);
    expect(answer.body.code).toBe("closed");
    expect((await act(subject, body.id, "close", {}, "monitor")).body.code).toBe("already-closed");
    expect(await reviewItems()).toEqual(before);
  });

  it("another site's subject and an unknown query are 404", async () => {
    const subject = await subjectWithEdss();
    const { body } = await raise(subject, { target: FIELD, text: "?" });
    expect((await act(subject, body.id, "answer", { text: "x" }, "site-02")).status).toBe(404);
    expect((await product.call("GET", queriesOf(subject), { as: "site-02" })).status).toBe(404);
    expect((await act(subject, "q_nosuchquery", "close", {}, "monitor")).status).toBe(404);
  });

  it("an answer and a reopening need a text", async () => {
    const subject = await subjectWithEdss();
    const { body } = await raise(subject, { target: FIELD, text: "?" });
    const res = await act(subject, body.id, "answer", { text: "  " }, "site-01");
    expect(res.status).toBe(422);
    expect(res.body.errors[0].pointer).toBe("/text");
  });

  it("of five racing closes, one wins and the others are refused", async () => {
    const subject = await subjectWithEdss();
    const { body } = await raise(subject, { target: FIELD, text: "?" });
    const results = await Promise.all(
      ["a", "b", "c", "d", "e"].map((text) => act(subject, body.id, "close", { text }, "monitor")),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409, 409, 409]);
    const listed = await product.call("GET", queriesOf(subject), { as: "monitor" });
    expect(
      listed.body.queries[0].messages.filter((m: { action: string }) => m.action === "query-close"),
    ).toHaveLength(1);
  });
});

describe("an answer that corrects the data", () => {
  it("saves one revision and appends one answer that names it", async () => {
    const subject = await subjectWithEdss();
    const { body } = await raise(subject, { target: FIELD, text: "The source says 3" });
    const res = await act(
      subject,
      body.id,
      "answer",
      { text: "Corrected to 3", save: { data: { edss_total: 3 }, status: "incomplete", rev: 1 } },
      "site-01",
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const answer = res.body.messages.at(-1);
    expect(answer).toMatchObject({
      action: "query-answer",
      correction: { event: "screening", form: "edss", instance: 1, rev: 2, hash: expect.any(String) },
    });
    const read = await product.call("GET", product.formPath(subject, "screening", "edss"), { as: "monitor" });
    expect(read.body).toMatchObject({ rev: 2, data: { edss_total: 3 } });
  });

  it("a refused save (stale, invalid) saves nothing and appends nothing, answering the save's problem", async () => {
    const subject = await subjectWithEdss();
    const { body } = await raise(subject, { target: FIELD, text: "?" });
    const before = await product.snapshot();
    const stale = await act(
      subject,
      body.id,
      "answer",
      { text: "x", save: { data: { edss_total: 3 }, status: "incomplete", rev: 0 } },
      "site-01",
    );
    expect(stale.status).toBe(409);
    expect(stale.body.type).toBe("urn:edc:problem:stale-revision");
    const invalid = await act(
      subject,
      body.id,
      "answer",
      { text: "x", save: { data: { edss_total: 0.5 }, status: "incomplete", rev: 1 } },
      "site-01",
    );
    expect(invalid.status).toBe(422);
    expect(invalid.body.errors[0].pointer).toBe("/edss_total");
    expect(await product.snapshot()).toEqual(before);
  });

  it("a save sent with a close, or with an answer to a subject query, is refused with its pointer", async () => {
    const subject = await subjectWithEdss();
    const field = (await raise(subject, { target: FIELD, text: "?" })).body;
    const whole = (await raise(subject, { target: {}, text: "?" })).body;
    const save = { data: { edss_total: 3 }, status: "incomplete", rev: 1 };
    const before = await product.snapshot();
    const close = await act(subject, field.id, "close", { save }, "monitor");
    expect(close.status).toBe(422);
    expect(close.body.errors[0].pointer).toBe("/save");
    const answer = await act(subject, whole.id, "answer", { text: "x", save }, "site-01");
    expect(answer.status).toBe(422);
    expect(answer.body.errors[0].pointer).toBe("/save");
    expect(await product.snapshot()).toEqual(before);
  });

  it("an answer to a closed query with a save saves nothing", async () => {
    const subject = await subjectWithEdss();
    const { body } = await raise(subject, { target: FIELD, text: "?" });
    await act(subject, body.id, "close", {}, "monitor");
    const before = await product.snapshot();
    const res = await act(
      subject,
      body.id,
      "answer",
      { text: "x", save: { data: { edss_total: 3 }, status: "incomplete", rev: 1 } },
      "site-01",
    );
    expect(res.status).toBe(409);
    expect(await product.snapshot()).toEqual(before);
  });
});

describe("the query list of the caller's sites", () => {
  it("filters by state, form, assignee and age, and gives the age statistics", async () => {
    const a = await subjectWithEdss();
    const b = await product.enrol("site-02", { site: "site-02", arm: "rrms" });
    const q1 = (await raise(a, { target: FIELD, text: "1", assignee: { role: "coordinator" } })).body;
    await raise(a, { target: { event: "screening" }, text: "2" });
    await raise(b, { target: {}, text: "3" });
    await act(a, q1.id, "answer", { text: "ok" }, "site-01");

    const mine = await product.call("GET", `${BASE}/queries`, { as: "site-01" });
    expect(mine.status).toBe(200);
    const ids = mine.body.queries.map((q: { id: string }) => q.id);
    expect(ids).toContain(q1.id);
    expect(mine.body.queries.every((q: { site: string }) => q.site === "site-01")).toBe(true);
    expect(mine.body.stats).toMatchObject({
      medianAgeDays: expect.any(Number),
      p90AgeDays: expect.any(Number),
    });
    expect(mine.body.stats.open + mine.body.stats.answered).toBeGreaterThanOrEqual(2);

    const all = await product.call("GET", `${BASE}/queries`, { as: "monitor" });
    expect(all.body.queries.some((q: { subject: string }) => q.subject === b)).toBe(true);

    const answered = await product.call(
      "GET",
      `${BASE}/queries?state=answered&form=edss&assignee=coordinator`,
      {
        as: "monitor",
      },
    );
    expect(answered.body.queries.map((q: { id: string }) => q.id)).toContain(q1.id);
    expect(answered.body.queries.every((q: { state: string }) => q.state === "answered")).toBe(true);
    expect(answered.body.stats.open).toBe(0);

    const old = await product.call("GET", `${BASE}/queries?minAgeDays=1`, { as: "monitor" });
    expect(old.body.queries).toEqual([]);
    expect((await product.call("GET", `${BASE}/queries?site=site-02`, { as: "site-01" })).status).toBe(404);
    expect((await product.call("GET", `${BASE}/queries?state=lost`, { as: "monitor" })).status).toBe(400);
  });
});
