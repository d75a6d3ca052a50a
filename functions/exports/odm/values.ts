import { isEmpty } from "../../engine/logic.ts";
import type { DataType } from "./types.ts";

/** Values as ODM writes them (xs:decimal, xs:time, 1/0). */

/** A number as an xs:decimal literal (never exponent notation). */
export function decimal(n: number): string {
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign = "", int = "", frac = "", exp = "0"] = m;
  const digits = int + frac;
  const point = 1 + Number(exp);
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + "0".repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

export function scalar(value: unknown, dataType: DataType): string | null {
  if (isEmpty(value)) return null;
  if (typeof value === "number") return decimal(value);
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "string") {
    // The engine allows HH:MM; ODM time is xs:time (HH:MM:SS).
    if (dataType === "time" && /^\d{2}:\d{2}$/.test(value)) return `${value}:00`;
    // ODM datetime is xs:dateTime, whose zone is optional but seconds are not: a local date-time gets ":00".
    if (dataType === "datetime" && /T\d{2}:\d{2}$/.test(value)) return `${value}:00`;
    return value;
  }
  return JSON.stringify(value);
}
