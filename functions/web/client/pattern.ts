/**
 * RE2 for builder patterns in the browser (~150 KB): its own asset, loaded
 * before the form script only on pages whose instrument has a `pattern`.
 */
import { linearRegExp } from "../../engine/pattern.ts";

globalThis.edcPattern = linearRegExp;
