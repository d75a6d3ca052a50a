/** Written by bundle.ts when the browser scripts are built: the meta-schema checks as code (no compiling in the page). */
declare module "edc:precompiled-meta-schemas" {
  type ValidatorModule = (
    require: (name: string) => unknown,
    module: { exports: unknown },
    exports: unknown,
  ) => void;
  export const study: ValidatorModule;
  export const instrument: ValidatorModule;
}
