import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { AssetHashType, DockerImage, type ILocalBundling } from "aws-cdk-lib";
import { Architecture, Code, type FunctionProps, LoggingFormat, type Runtime } from "aws-cdk-lib/aws-lambda";

/**
 * A Lambda asset bundled by esbuild with code splitting: `index.mjs` holds what
 * the handler's module graph imports statically; every `import()` (exports,
 * REDCap, S3, the site pages…) becomes a chunk under `chunks/` that Node loads
 * the first time a request reaches it. NodejsFunction cannot do this: it passes
 * esbuild `--outfile`, and splitting needs `--outdir`. Everything else is what
 * `bundledFunctionProps` gives NodejsFunction (docs/architecture.md, "Cold start").
 */
export interface SplitBundle {
  /** The handler module, relative to `projectRoot` or absolute. */
  entry: string;
  projectRoot: string;
  runtime: Runtime;
  /** `--banner:js`, on every chunk (each gets its own module-scoped `require`). */
  banner: string;
  /** `--alias:…` pairs, paths relative to `projectRoot`. */
  alias?: Record<string, string>;
  /** A line-only source map per chunk and Node started with `--enable-source-maps`. */
  sourceMaps?: boolean;
}

/** The esbuild command line for one split build: the same for local and Docker bundling. */
export function splitEsbuildArgs(bundle: SplitBundle, inputDir: string, outputDir: string): string[] {
  const entry = path.relative(bundle.projectRoot, path.resolve(bundle.projectRoot, bundle.entry));
  return [
    `index=${path.posix.join(inputDir, entry.split(path.sep).join("/"))}`,
    "--bundle",
    "--splitting",
    "--platform=node",
    `--target=${bundle.runtime.name.replace(/\.x$/, "").replace("nodejs", "node")}`,
    "--format=esm",
    `--outdir=${outputDir}`,
    "--out-extension:.js=.mjs",
    "--chunk-names=chunks/[name]-[hash]",
    "--minify",
    // ESM builds of dependencies first: they tree-shake, CJS builds do not.
    "--main-fields=module,main",
    // Nothing is external: the SDK version the tests ran against ships with the code (bundleAwsSDK).
    ...(bundle.sourceMaps ? ["--sourcemap", "--sources-content=false"] : []),
    ...Object.entries(bundle.alias ?? {}).map(([from, to]) => `--alias:${from}=${to}`),
    `--banner:js=${bundle.banner}`,
    "--log-level=warning",
  ];
}

function esbuildBinary(projectRoot: string): string {
  const require = createRequire(path.join(projectRoot, "package.json"));
  return path.join(path.dirname(require.resolve("esbuild/package.json")), "bin", "esbuild");
}

/** Runs esbuild from the project's own node_modules; Docker is only the fallback when it cannot. */
class LocalSplitBundling implements ILocalBundling {
  // Fields, not closures: CDK's asset cache key is the JSON of the bundling options.
  constructor(
    readonly bundle: SplitBundle,
    readonly esbuild: string,
  ) {}

  tryBundle(outputDir: string): boolean {
    execFileSync(this.esbuild, splitEsbuildArgs(this.bundle, this.bundle.projectRoot, outputDir), {
      cwd: this.bundle.projectRoot,
      stdio: ["ignore", "inherit", "inherit"],
    });
    return true;
  }
}

/** The Lambda code of a split bundle: hashed by its output, like NodejsFunction's. */
export function splitBundleCode(bundle: SplitBundle): Code {
  const esbuildVersion = (
    createRequire(path.join(bundle.projectRoot, "package.json"))("esbuild/package.json") as {
      version: string;
    }
  ).version;
  const dockerArgs = splitEsbuildArgs(bundle, "/asset-input", "/asset-output").map(
    (arg) => `'${arg.replaceAll("'", "'\\''")}'`,
  );
  return Code.fromAsset(bundle.projectRoot, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      local: new LocalSplitBundling(bundle, esbuildBinary(bundle.projectRoot)),
      image: DockerImage.fromRegistry(bundle.runtime.bundlingImage.image),
      workingDirectory: "/asset-input",
      command: ["bash", "-c", `npx --yes esbuild@${esbuildVersion} ${dockerArgs.join(" ")}`],
    },
  });
}

/** Function props for a split bundle, matching what `bundledFunctionProps` sets on a NodejsFunction. */
export function splitBundledFunctionProps(
  bundle: SplitBundle,
): Pick<FunctionProps, "code" | "handler" | "runtime" | "architecture" | "loggingFormat" | "environment"> {
  return {
    code: splitBundleCode(bundle),
    handler: "index.handler",
    runtime: bundle.runtime,
    architecture: Architecture.ARM_64,
    loggingFormat: LoggingFormat.JSON,
    ...(bundle.sourceMaps ? { environment: { NODE_OPTIONS: "--enable-source-maps" } } : {}),
  };
}
