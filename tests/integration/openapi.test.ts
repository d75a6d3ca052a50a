import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { Product } from "./harness.ts";

let product: Product;
let operations: { where: string; operationId?: string }[];
let document: any;

beforeAll(async () => {
  product = new Product(await startDevEnvironment());
  const doc = (await (await product.env.app.request("/api/v1/openapi.json")).json()) as {
    paths: Record<string, Record<string, { operationId?: string }>>;
  };
  document = doc;
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({
      where: `${method.toUpperCase()} ${path}`,
      operationId: op.operationId,
    })),
  );
});

afterAll(() => product.close());

describe("the OpenAPI document", () => {
  it("gives every operation an operationId that client generators can use as a method name", () => {
    expect(operations.length).toBeGreaterThan(20);
    expect(
      operations.filter((o) => !/^[a-z][A-Za-z]+$/.test(o.operationId ?? "")).map((o) => o.where),
    ).toEqual([]);
  });

  it("never gives two operations the same operationId", () => {
    const ids = operations.map((o) => o.operationId);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it("describes the change feed's entries, revisions and review entries told apart by type", () => {
    const schema =
      document.paths["/studies/{study}/changes"].get.responses["200"].content["application/json"].schema;
    expect(schema.properties.changes.items).toEqual({ $ref: "#/components/schemas/FeedChange" });
    const feed = document.components.schemas.FeedChange;
    expect(feed.discriminator.propertyName).toBe("type");
    const types = feed.oneOf.map((ref: { $ref: string }) => {
      const name = ref.$ref.split("/").at(-1) as string;
      return document.components.schemas[name].properties.type.enum;
    });
    expect(types).toEqual([["revision"], ["review"]]);
    const review = document.components.schemas.ReviewChange;
    expect(review.properties.action.enum).toContain("sign");
    expect(review.required).toEqual(expect.arrayContaining(["type", "seq", "at", "by", "target", "action"]));
  });
});
