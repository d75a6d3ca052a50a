import type { RouteConfig } from "@hono/zod-openapi";
import fc from "fast-check";
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { describe, expect, it } from "vitest";
import { createRouter } from "../../functions/api/router.ts";
import { formInstanceSaveRoutes } from "../../functions/api/routes/form-instance-saves.ts";
import { formInstanceRoutes } from "../../functions/api/routes/form-instances.ts";
import { acceptSaveBody } from "../../functions/api/save-body.ts";
import { SaveBody } from "../../functions/api/schemas.ts";
import { FORM_STATUSES } from "../../functions/engine/definition.ts";
import type { AppEnv } from "../../functions/http/context.ts";
import { ProblemError } from "../../functions/http/problems.ts";

/**
 * A save's body is checked without zod first (api/save-body.ts) and by the
 * schema only when that check does not accept it. Both must take the same
 * bodies: one accepted by the check and refused by the schema would skip the
 * schema's 400; the other way round only costs zod's import.
 */

type Entry = readonly [string, string];

/** JSON text for an object from its entries: repeated and "__proto__" keys come out as JSON.parse makes them. */
const objectText = (entries: readonly Entry[]) =>
  `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;
const json = (arb: fc.Arbitrary<unknown>) => arb.map((v) => JSON.stringify(v));

const anyJson = json(fc.jsonValue({ maxDepth: 2 }));
/** Strings around a limit, and short ones with any characters (surrogate pairs count two). */
const text = (max: number) =>
  json(
    fc.oneof(
      { weight: 4, arbitrary: fc.string({ maxLength: 4, unit: "grapheme" }) },
      fc.integer({ min: max - 1, max: max + 1 }).map((n) => "é".repeat(n)),
      fc.integer({ min: Math.floor(max / 2) - 1, max: Math.floor(max / 2) + 1 }).map((n) => "😀".repeat(n)),
    ),
  );
const mostly = (valid: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: anyJson });
const list = (item: fc.Arbitrary<string>, max: number) =>
  fc
    .oneof(
      { weight: 4, arbitrary: fc.array(item, { maxLength: 3 }) },
      fc.integer({ min: max - 1, max: max + 1 }).map((n) => Array.from({ length: n }, () => '"a"')),
    )
    .map((items) => `[${items.join(",")}]`);
const key = (valid: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: fc.constantFrom("__proto__", "other") });

const missingEntry = fc
  .tuple(
    fc.option(mostly(text(32)), { nil: undefined }),
    fc.option(mostly(text(2000)), { nil: undefined }),
    fc.option(fc.tuple(key(fc.constant("code")), anyJson), { nil: undefined }),
  )
  .map(([code, reason, extra]) =>
    objectText([
      ...(code ? [["code", code] as const] : []),
      ...(reason ? [["reason", reason] as const] : []),
      ...(extra ? [extra] : []),
    ]),
  );
const missing = fc
  .array(
    fc.tuple(key(fc.oneof(fc.string({ maxLength: 6 }), fc.constant("f".repeat(201)))), mostly(missingEntry)),
    {
      maxLength: 3,
    },
  )
  .map(objectText);
const data = fc.array(fc.tuple(key(fc.string({ maxLength: 6 })), anyJson), { maxLength: 3 }).map(objectText);

const FIELDS: Record<string, fc.Arbitrary<string>> = {
  data: mostly(data),
  status: mostly(json(fc.constantFrom(...FORM_STATUSES, "done"))),
  rev: mostly(
    json(
      fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: -1, max: 5 }) },
        fc.constantFrom(1.5, 2 ** 53 - 1, 2 ** 53, 1e300),
      ),
    ),
  ),
  reason: mostly(text(2000)),
  recalculate: mostly(list(text(200), 100)),
  missing: mostly(missing),
  confirmWarnings: mostly(fc.oneof(json(fc.constant(true)), list(text(300), 500))),
};

/** Bodies as a client may send them: mostly well formed, each part sometimes not, sometimes an unknown key. */
/** `arb`'s value `odds` times as often as none. */
const sometimes = <T>(arb: fc.Arbitrary<T>, odds: number) =>
  fc.oneof({ weight: odds * 8, arbitrary: arb }, { weight: 8, arbitrary: fc.constant(undefined) });
const REQUIRED = new Set(["data", "status", "rev"]);
const bodies = fc
  .tuple(
    fc.tuple(
      ...Object.entries(FIELDS).map(([name, value]) =>
        sometimes(
          value.map((v) => [name, v] as const),
          REQUIRED.has(name) ? 20 : 1,
        ),
      ),
    ),
    sometimes(fc.tuple(fc.constantFrom("__proto__", "extra", "Data"), anyJson), 1 / 8),
  )
  .map(
    ([fields, extra]) =>
      JSON.parse(
        objectText([...fields.filter((f) => f !== undefined), ...(extra ? [extra] : [])]),
      ) as unknown,
  );

describe("a save's body checked without zod", () => {
  it("accepts exactly what the schema accepts, with the same values", () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(fc.oneof(bodies, fc.jsonValue()), (body) => {
        const fast = acceptSaveBody(body);
        const schema = SaveBody.safeParse(body);
        if (fast) {
          accepted++;
          expect(schema.success).toBe(true);
          expect(fast).toStrictEqual(schema.data);
        } else if (!schema.success) {
          refused++;
        } else {
          // The one body the check leaves to the schema on purpose: a "__proto__" field among the missing.
          expect(Object.hasOwn((body as { missing: object }).missing, "__proto__")).toBe(true);
        }
      }),
      { numRuns: 1_500 },
    );
    // The property would hold for a check that accepts nothing, or for bodies the schema always refuses.
    expect(accepted).toBeGreaterThan(60);
    expect(refused).toBeGreaterThan(60);
  });

  it("accepts the body of a typical save", () => {
    const body = { data: { edss_total: 3.5 }, status: "incomplete", rev: 0 };
    expect(acceptSaveBody(body)).toEqual(body);
  });
});

/**
 * The save's route as @hono/zod-openapi answered it from its OpenAPI
 * description (what form-instances.ts registers), its handler a stub.
 */
function describedSave(): Hono<AppEnv> {
  const route = formInstanceRoutes.openAPIRegistry.definitions.flatMap((d) =>
    d.type === "route" && d.route.operationId === "saveFormInstance" ? [d.route as RouteConfig] : [],
  )[0];
  if (!route) throw new Error("no saveFormInstance in form-instances.ts");
  const router = createRouter();
  router.openapi(route, (c) => c.json({ reached: true }, 200));
  return router;
}

/** Runs a router as a signed-in coordinator; what it throws is the answer compared. */
function outer(routes: Hono<AppEnv>) {
  const app = new Hono<AppEnv>();
  app.use(async (c, next) => {
    c.set("principal", { user: "u", study: "s", roles: [{ role: "coordinator", sites: ["*"] }] });
    await next();
  });
  app.route("/", routes);
  app.onError((e, c) => {
    if (e instanceof ProblemError) return c.json({ problem: [e.status, e.title, e.detail, e.extra] });
    if (e instanceof HTTPException) return c.json({ http: [e.status, e.message] });
    // The route's own handler ran: past every check.
    return c.json({ reached: true });
  });
  return app;
}

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "application/json;",
  "application/problem+json",
  "application/json-seq",
  "application/vnd.x.y+json;a=1;b=2",
  "Application/JSON",
];

describe("a save's request, answered without zod", () => {
  it("refuses what the described route refused, with the same problem, and lets the rest through", async () => {
    const described = outer(describedSave());
    const plain = outer(formInstanceSaveRoutes);
    const texts = fc.oneof(
      { weight: 6, arbitrary: bodies.map((b) => JSON.stringify(b)) },
      fc.constantFrom('{"data": {', "[1,2]", "", "null", '"x"'),
    );
    let reached = 0;
    await fc.assert(
      fc.asyncProperty(texts, fc.constantFrom(...CONTENT_TYPES), async (body, type) => {
        const request = () =>
          new Request("http://x/studies/s/subjects/1/events/e/forms/f", {
            method: "PUT",
            headers: { "content-type": type },
            body,
          });
        const expected = await (await described.request(request())).json();
        if ("reached" in expected) reached++;
        expect(await (await plain.request(request())).json()).toEqual(expected);
      }),
      { numRuns: 250 },
    );
    expect(reached).toBeGreaterThan(10);
  });
});
