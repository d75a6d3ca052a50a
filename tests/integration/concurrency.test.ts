import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeDevKey } from "../../functions/dev-environment.ts";
import { ALL_SITES } from "../../functions/store/principal.ts";
import { BASE, type Product, STUDY, startProduct } from "./harness.ts";

let product: Product;
beforeAll(async () => {
  product = await startProduct();
  const key = { user: "test-data_manager", role: "data_manager" as const, study: STUDY, sites: [ALL_SITES] };
  product.env.tokens.data_manager = await storeDevKey(product.env.store, "test-data_manager", key);
});
afterAll(() => product.close());

describe("concurrent edits", () => {
  it("lets exactly one of 20 concurrent saves from the same revision win; the others get 409", async () => {
    const subject = await product.enrol();
    const first = await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 60 } });
    expect(first.body.rev).toBe(1);

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        product.save(subject, "screening", "vital_signs", { data: { heart_rate: 61 + i }, rev: 1 }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const winner = results.find((r) => r.status === 200);
    for (const loser of results.filter((r) => r.status === 409)) {
      expect(loser.contentType).toContain("application/problem+json");
      expect(loser.body.current.rev).toBe(2);
    }

    const audit = await product.call("GET", `${BASE}/subjects/${subject}/audit`, { as: "site-01" });
    const saves = audit.body.entries.filter((e: { action: string }) => e.action === "save");
    expect(saves).toHaveLength(2); // the first save + the one winner
    expect(saves[1].changes).toEqual([{ field: "heart_rate", old: 60, new: winner?.body.data.heart_rate }]);
    const current = await product.call("GET", product.formPath(subject, "screening", "vital_signs"), {
      as: "site-01",
    });
    expect(current.body).toMatchObject({ rev: 2, data: { heart_rate: winner?.body.data.heart_rate } });
  });

  it("locks of different targets at once all hold: no lock's mark overwrites another's, every save is refused", async () => {
    const subject = await product.enrol();
    // Every save below goes through the lock state items, which exist once the subject has saved.
    expect(
      (await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 60 } })).status,
    ).toBe(200);
    const targets = ["screening", "iv_1", "m3", "m6", "m9", "m12"].map((event) => ({
      event,
      form: "vital_signs",
      instance: 1,
    }));
    const locks = await Promise.all(
      targets.map((target) =>
        product.call("POST", `${BASE}/subjects/${subject}/locks`, { as: "data_manager", body: { target } }),
      ),
    );
    expect(locks.map((l) => l.status)).toEqual(targets.map(() => 201));
    const saves = await Promise.all(
      targets.map(({ event }) =>
        product.save(subject, event, "vital_signs", {
          data: { heart_rate: 70 },
          rev: event === "screening" ? 1 : 0,
        }),
      ),
    );
    expect(saves.map((s) => s.status)).toEqual(targets.map(() => 423));
  });

  it("lets exactly one of 15 concurrent identical status changes through; the others get 409 and the log holds one", async () => {
    const subject = await product.enrol("site-02", { site: "site-02", arm: "nmo" });
    const results = await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        product.call("POST", `${BASE}/subjects/${subject}/status`, {
          as: "site-02",
          body: { status: "withdrawn", date: "2026-01-05", reason: `withdrew consent (${i})` },
        }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(14);
    for (const loser of results.filter((r) => r.status === 409))
      expect(loser.body.type).toBe("urn:edc:problem:status-transition");
    const status = await product.call("GET", `${BASE}/subjects/${subject}/status`, { as: "site-02" });
    expect(status.body.history.filter((h: { status: string }) => h.status === "withdrawn")).toHaveLength(1);
  });

  it("of two status changes that exclude each other, racing from the same status, only one is recorded", async () => {
    // From enrolled a subject may be withdrawn or completed, but neither leads to the other.
    const subject = await product.enrol("site-02", { site: "site-02", arm: "nmo" });
    const changes = ["withdrawn", "completed"].flatMap((status) =>
      Array.from({ length: 6 }, () => ({ status, date: "2026-01-05", reason: "racing" })),
    );
    const results = await Promise.all(
      changes.map((body) =>
        product.call("POST", `${BASE}/subjects/${subject}/status`, { as: "site-02", body }),
      ),
    );
    const winners = results.filter((r) => r.status === 201);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(11);
    const status = await product.call("GET", `${BASE}/subjects/${subject}/status`, { as: "site-02" });
    expect(status.body.history).toHaveLength(1);
    expect(status.body.current.status).toBe(winners[0]?.body.status);
  });

  it("lets exactly one of 15 concurrent locks (and unlocks) of one target through; the others get 409", async () => {
    const subject = await product.enrol();
    const target = { event: "screening", form: "vital_signs", instance: 1 };
    const locks = await Promise.all(
      Array.from({ length: 15 }, () =>
        product.call("POST", `${BASE}/subjects/${subject}/locks`, { as: "data_manager", body: { target } }),
      ),
    );
    expect(locks.filter((r) => r.status === 201)).toHaveLength(1);
    expect(locks.filter((r) => r.status === 409)).toHaveLength(14);
    const unlocks = await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        product.call("POST", `${BASE}/subjects/${subject}/unlock`, {
          as: "data_manager",
          body: { target, reason: `correction ${i}` },
        }),
      ),
    );
    expect(unlocks.filter((r) => r.status === 201)).toHaveLength(1);
    expect(unlocks.filter((r) => r.status === 409)).toHaveLength(14);
    const log = await product.env.store.readReviewLog(STUDY, subject);
    expect(log.map((e) => e.action)).toEqual(["lock", "unlock"]);
  });

  it("gives concurrently enrolled subjects distinct generated ids", async () => {
    const ids = await Promise.all(
      Array.from({ length: 10 }, () => product.enrol("site-02", { site: "site-02", arm: "nmo" })),
    );
    expect(new Set(ids).size).toBe(10);
    for (const id of ids) expect(id).toMatch(/^02-\d{3}$/);
  });

  // Last: a failure here would leave the study frozen for the tests after it.
  it("freezes the study once when 15 freezes race; the others get 409", async () => {
    const freezes = await Promise.all(
      Array.from({ length: 15 }, () =>
        product.call("POST", `${BASE}/freeze`, { as: "data_manager", body: { reason: "database lock" } }),
      ),
    );
    expect(freezes.filter((r) => r.status === 201)).toHaveLength(1);
    expect(freezes.filter((r) => r.status === 409)).toHaveLength(14);
    const unfreezes = await Promise.all(
      Array.from({ length: 15 }, () =>
        product.call("POST", `${BASE}/unfreeze`, { as: "data_manager", body: { reason: "reopened" } }),
      ),
    );
    expect(unfreezes.filter((r) => r.status === 201)).toHaveLength(1);
    expect(unfreezes.filter((r) => r.status === 409)).toHaveLength(14);
    const log = await product.env.store.readReviewLog(STUDY);
    expect(log.map((e) => e.action)).toEqual(["lock", "unlock"]);
  });
});
