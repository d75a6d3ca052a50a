// The same surface as zod, less the other locales (tests/unit/zod-english.test.ts holds it to that).
export * from "zod";
export { default, z } from "zod";
