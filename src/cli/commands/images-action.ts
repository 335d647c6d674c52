import { UserError } from "../../errors/user-error.ts";
import { layoutArchive } from "../../exporter/outputs/layout-output.ts";
import { writeOutputFile } from "../../fsutil/output-file.ts";
import { selectPlatforms } from "../../images/image-archive.ts";
import { pushStoredImage } from "../../images/image-push.ts";
import {
  describePlatforms,
  getImage,
  imageName,
  imagePlatforms,
  imageSize,
  listImages,
  removeImage,
  storedReferrers,
  storeImage,
  storeReferrers,
} from "../../images/image-store.ts";
import { parsePlatformList } from "../../oci/platform.ts";
import { openContentStore, registryClientsFor } from "../registry-setup.ts";
import type { PushOptions, SaveOptions } from "./images.ts";

export async function imagesAction(opts: { format?: string }): Promise<void> {
  const format = opts.format ?? "table";
  if (format !== "table" && format !== "json") {
    throw new UserError(`unknown --format ${JSON.stringify(format)}`, { hint: "use table or json" });
  }
  const store = await openContentStore();
  const rows = [];
  for (const image of await listImages(store)) {
    const platforms = await imagePlatforms(store, image.descriptor);
    rows.push({
      name: image.name,
      digest: image.descriptor.digest,
      platforms: describePlatforms(platforms),
      size: await imageSize(store, image.descriptor),
      created: image.created,
    });
  }
  if (format === "json") {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const table = [
    ["NAME", "DIGEST", "PLATFORMS", "SIZE", "CREATED"],
    ...rows.map((r) => [r.name, r.digest.slice(0, 19), r.platforms, humanSize(r.size), r.created]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) {
    process.stdout.write(
      `${row
        .map((c, i) => c.padEnd(widths[i]!))
        .join("   ")
        .trimEnd()}\n`,
    );
  }
}

export async function tagAction(source: string, target: string): Promise<void> {
  const store = await openContentStore();
  const image = await getImage(store, source);
  const stored = await storeImage(store, imageName(target, `target ${target}`), image.descriptor);
  await storeReferrers(store, stored.name, await storedReferrers(store, image.name));
  process.stdout.write(`${stored.name}\n`);
}

export async function rmiAction(names: string[]): Promise<void> {
  const store = await openContentStore();
  // Every name is checked before any is removed: a typo in the third leaves the first two in place.
  for (const name of names) await getImage(store, name);
  for (const name of names) process.stdout.write(`Untagged: ${(await removeImage(store, name)).name}\n`);
}

export async function saveAction(names: string[], opts: SaveOptions): Promise<void> {
  if (names.length !== 1) {
    throw new UserError("polyarch save writes one image per archive", {
      hint: "run polyarch save once per image",
    });
  }
  const format = opts.format;
  if (format !== undefined && format !== "oci" && format !== "docker") {
    throw new UserError(`unknown --format ${JSON.stringify(format)}`, { hint: "use oci or docker" });
  }
  const store = await openContentStore();
  const image = await getImage(store, names[0]!);
  const selection = await selectPlatforms(store, image, (opts.platform ?? []).flatMap(parsePlatformList));
  const kind = format ?? (selection.images.length === 1 ? "docker" : "oci");
  if (kind === "docker" && selection.images.length > 1) {
    throw new UserError(
      `a docker archive holds one platform, and ${image.name} has ${describePlatforms(selection.images)}`,
      { hint: "add --platform OS/ARCH, or use --format oci for every platform" },
    );
  }
  // A docker archive is for `docker load`, which reads one image: the referrers stay out of it.
  const { writer, extraFiles } = layoutArchive(
    kind,
    kind === "docker"
      ? { ...selection, attestations: selection.attestations.filter((a) => a.style === "index") }
      : selection,
    [image.name],
    image.created || new Date().toISOString(),
    store,
  );
  await writeOutputFile(opts.output!, writer.tarStream({ extraFiles }));
}

export async function pushAction(name: string, opts: PushOptions, debug: boolean): Promise<void> {
  const store = await openContentStore();
  const image = await getImage(store, name);
  const clients = registryClientsFor(opts, debug);
  try {
    await pushStoredImage(clients, store, image);
  } finally {
    await clients.close();
  }
  process.stdout.write(`${image.name}@${image.descriptor.digest}\n`);
}

function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let n = bytes;
  let u = 0;
  while (n >= 1000 && u < units.length - 1) {
    n /= 1000;
    u++;
  }
  return `${u === 0 ? n : n.toFixed(n < 10 ? 2 : 1)}${units[u]}`;
}
