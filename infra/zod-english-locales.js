/** The one locale the functions ship (see zod-english.js). */
export { default as en } from "../node_modules/zod/v4/locales/en.js";
