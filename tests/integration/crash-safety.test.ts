import { type DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activeLocks } from "../../functions/engine/locks.ts";
import { lockStateKey } from "../../functions/store/lock-state.ts";
import { createStore } from "../../functions/store/store.ts";
import { BASE, type Product, startProduct } from "./harness.ts";

class ProcessDied extends Error {
  override name = "ProcessDied";
}

type Send = Pick<DynamoDBDocumentClient, "send">;

/**
 * The real client, except that the process "dies" at the n-th store call:
 * either before the call reaches DynamoDB or right after it took effect.
 * Nothing after that point runs, exactly as if the Lambda had been killed.
 */
function dyingClient(real: Send, dieAt: number, when: "before" | "after"): Send & { calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    send: (async (command: Parameters<Send["send"]>[0]) => {
      calls += 1;
      if (calls > dieAt) throw new ProcessDied("already dead");
      if (calls === dieAt && when === "before") throw new ProcessDied(`died before call ${dieAt}`);
      const result = await real.send(command as never);
      if (calls === dieAt) throw new ProcessDied(`died after call ${dieAt}`);
      return result;
    }) as Send["send"],
  };
}

let product: Product;
beforeAll(async () => {
  product = await startProduct();
});
afterAll(() => product.close());

async function saveThroughDyingProcess(
  subject: string,
  dieAt: number,
  when: "before" | "after",
  rev: number,
  hr: number,
) {
  const env = product.env;
  const definition = await env.store.definitions.current(env.studyId);
  const sub = await env.store.getSubject(env.studyId, subject);
  if (!definition || !sub) throw new Error("setup");
  const doc = dyingClient(env.store.db.doc, dieAt, when);
  const store = createStore({ tableName: env.tableName, doc, macKey: env.store.macKey });
  const request = {
    definition,
    subject: sub,
    event: "screening",
    form: "vital_signs",
    instance: 1,
    data: { heart_rate: hr },
    status: "incomplete" as const,
    rev,
    actor: "dev-site-01",
  };
  try {
    await store.saveFormInstance(request);
    return { died: false, calls: doc.calls() };
  } catch (error) {
    if (!(error instanceof ProcessDied)) throw error;
    return { died: true, calls: doc.calls() };
  }
}

describe("a process dying between any two store calls of a save", () => {
  // A save makes 4 calls: one read (a BatchGetItem of the instance's projection, day one's state and the
  // subject's and the study's lock states), commit, then projection and summary at once; 6 covers "never dies" too.
  for (const when of ["before", "after"] as const) {
    for (let dieAt = 1; dieAt <= 6; dieAt++) {
      it(`loses nothing and leaves nothing unaudited when it dies ${when} call ${dieAt}`, async () => {
        const subject = await product.enrol();
        // An existing revision 1, so the dying save is an update with an old → new to audit.
        await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 70 } });
        const outcome = await saveThroughDyingProcess(subject, dieAt, when, 1, 99);

        // A new process reads: the revision log is the truth and the projection is repaired from it.
        const audit = await product.call("GET", `${BASE}/subjects/${subject}/audit`, { as: "site-01" });
        const saves = audit.body.entries.filter((e: { action: string }) => e.action === "save");
        const current = await product.call("GET", product.formPath(subject, "screening", "vital_signs"), {
          as: "site-01",
        });
        const casebook = await product.call("GET", `${BASE}/subjects/${subject}`, { as: "site-01" });
        const listed = casebook.body.instances.find((i: { form: string }) => i.form === "vital_signs");

        const committed = saves.length === 2;
        if (committed) {
          expect(saves[1].changes).toEqual([{ field: "heart_rate", old: 70, new: 99 }]);
          expect(current.body).toMatchObject({ rev: 2, data: { heart_rate: 99 } });
          expect(listed.rev).toBe(2);
        } else {
          expect(saves).toHaveLength(1);
          expect(current.body).toMatchObject({ rev: 1, data: { heart_rate: 70 } });
          expect(listed.rev).toBe(1);
        }
        // The commit is the 2nd call: dying at or after it keeps the change, before it loses nothing that was acknowledged.
        expect(outcome.calls).toBeGreaterThanOrEqual(Math.min(dieAt, 4));
        expect(committed).toBe(!outcome.died || dieAt > 2 || (dieAt === 2 && when === "after"));

        // The projection item itself was repaired by the casebook read.
        const projection = await product.env.store.readCasebook(product.env.studyId, subject);
        expect(projection.instances.find((i) => i.form === "vital_signs")?.rev).toBe(committed ? 2 : 1);

        // The client can always carry on: retrying from what it last saw either saves or shows its own change.
        const retry = await product.save(subject, "screening", "vital_signs", {
          data: { heart_rate: 99 },
          rev: 1,
        });
        if (committed) {
          expect(retry.status).toBe(409);
          expect(retry.body.current.data.heart_rate).toBe(99);
        } else {
          expect(retry.status).toBe(200);
          expect(retry.body.rev).toBe(2);
        }
      });
    }
  }
});

describe("a projection left behind by a writer that died after its commit", () => {
  async function behind(): Promise<string> {
    const subject = await product.enrol();
    await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 70 } });
    // Dies right after the commit of revision 2 (call 2): its projection still says revision 1.
    const outcome = await saveThroughDyingProcess(subject, 2, "after", 1, 99);
    expect(outcome.died).toBe(true);
    return subject;
  }

  it("never answers 'unchanged' from it: the log has moved on, so the save is stale", async () => {
    const subject = await behind();
    const retry = await product.save(subject, "screening", "vital_signs", {
      data: { heart_rate: 70 },
      rev: 1,
    });
    expect(retry.status, JSON.stringify(retry.body)).toBe(409);
    expect(retry.body.current).toMatchObject({ rev: 2, data: { heart_rate: 99 } });
  });

  it("takes a save from the log's revision: the projection is repaired and the save commits after it", async () => {
    const subject = await behind();
    const res = await product.save(subject, "screening", "vital_signs", {
      data: { heart_rate: 101 },
      rev: 2,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ rev: 3, data: { heart_rate: 101 } });
  });
});

describe("a process dying between any two store calls of a lock or an unlock", () => {
  const vitals = { event: "screening", form: "vital_signs", instance: 1 };

  async function reviewThroughDyingProcess(
    subject: string,
    action: "lock" | "unlock",
    dieAt: number,
    when: "before" | "after",
  ) {
    const env = product.env;
    const doc = dyingClient(env.store.db.doc, dieAt, when);
    const store = createStore({ tableName: env.tableName, doc, macKey: env.store.macKey });
    try {
      await store.appendReview({
        study: env.studyId,
        subject,
        site: "site-01",
        action,
        target: vitals,
        by: "test-data_manager",
        ...(action === "unlock" ? { reason: "corrected" } : {}),
      } as Parameters<typeof store.appendReview>[0]);
      return { died: false };
    } catch (error) {
      if (!(error instanceof ProcessDied)) throw error;
      return { died: true };
    }
  }

  const lockedInLog = async (subject: string) =>
    activeLocks(await product.env.store.readReviewLog(product.env.studyId, subject)).length > 0;

  const marks = async (subject: string) => {
    const { Item } = await product.env.store.db.doc.send(
      new GetCommand({ TableName: product.env.tableName, Key: lockStateKey(product.env.studyId, subject) }),
    );
    return Object.keys(Item ?? {}).filter((name) => name.startsWith("lock "));
  };

  // A lock makes 5 calls (read the log, write the state item if missing, mark, read the head, append),
  // an unlock 4 (read the log, read the head, append, clear the mark); 6 covers "never dies" too.
  for (const action of ["lock", "unlock"] as const) {
    for (const when of ["before", "after"] as const) {
      for (let dieAt = 1; dieAt <= 6; dieAt++) {
        it(`never leaves a save open that the log's locks refuse: ${action}, dying ${when} call ${dieAt}`, async () => {
          const subject = await product.enrol();
          await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 70 } });
          if (action === "unlock") await reviewThroughDyingProcess(subject, "lock", 99, "after");
          const outcome = await reviewThroughDyingProcess(subject, action, dieAt, when);
          const locked = await lockedInLog(subject);
          const lastCall = action === "lock" ? 5 : 3;
          expect(locked).toBe(
            action === "lock"
              ? !outcome.died || dieAt > lastCall || (dieAt === lastCall && when === "after")
              : outcome.died && (dieAt < lastCall || (dieAt === lastCall && when === "before")),
          );

          const save = await product.save(subject, "screening", "vital_signs", {
            data: { heart_rate: 80 },
            rev: 1,
          });
          expect(save.status, JSON.stringify(save.body)).toBe(locked ? 423 : 200);
          if (locked) {
            expect((await marks(subject)).length).toBeGreaterThan(0);
            return;
          }
          // A mark whose lock never reached the log costs the saves a read of the log until the log
          // passes its seq (or it is older than any attempt runs); then the next save clears it.
          const other = { event: "screening" };
          await product.env.store.appendReview({
            study: product.env.studyId,
            subject,
            site: "site-01",
            action: "lock",
            target: other,
            by: "test-data_manager",
          });
          await product.env.store.appendReview({
            study: product.env.studyId,
            subject,
            site: "site-01",
            action: "unlock",
            target: other,
            by: "test-data_manager",
            reason: "done",
          });
          const next = await product.save(subject, "screening", "vital_signs", {
            data: { heart_rate: 81 },
            rev: 2,
          });
          expect(next.status, JSON.stringify(next.body)).toBe(200);
          expect(await marks(subject)).toEqual([]);
        });
      }
    }
  }
});
