import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { Product } from "./harness.ts";

let product: Product;
let operations: { where: string; operationId?: string }[];

beforeAll(async () => {
  product = new Product(await startDevEnvironment());
  const doc = (await (await product.env.app.request("/api/v1/openapi.json")).json()) as {
    paths: Record<string, Record<string, { operationId?: string }>>;
  };
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
});
