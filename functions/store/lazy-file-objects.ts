import { once } from "../engine/once.ts";
import type { DirectAccess, FileObjects, UploadStaging } from "./file-objects.ts";

/**
 * A file store made by the first file operation: the API function imports the
 * S3 client (and its presigner) there, not at a cold start that only saves
 * data (docs/architecture.md, "Cold start"). `direct` says whether the store
 * `load` makes has direct access; routes look for it before any operation.
 * A failed load is not kept: the next operation tries again.
 */
export function lazyFileObjects(load: () => Promise<FileObjects>, direct: boolean): FileObjects {
  const store = once(load);
  const staging: UploadStaging = {
    declare: async (id, upload) => (await store()).staging.declare(id, upload),
    declared: async (id) => (await store()).staging.declared(id),
    write: async (id, bytes) => (await store()).staging.write(id, bytes),
    stat: async (id) => (await store()).staging.stat(id),
    read: async (id) => (await store()).staging.read(id),
    remove: async (id) => (await store()).staging.remove(id),
  };
  const access = async () => {
    const { direct } = await store();
    if (!direct) throw new Error("the file store has no direct access");
    return direct;
  };
  const directAccess: DirectAccess = {
    uploadUrl: async (id, upload, expiresIn) => (await access()).uploadUrl(id, upload, expiresIn),
    downloadUrl: async (sha256, response, expiresIn) =>
      (await access()).downloadUrl(sha256, response, expiresIn),
  };
  return {
    put: async (bytes) => (await store()).put(bytes),
    stat: async (sha256) => (await store()).stat(sha256),
    get: async (sha256) => (await store()).get(sha256),
    staging,
    ...(direct ? { direct: directAccess } : {}),
  };
}
