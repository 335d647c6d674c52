/**
 * `polyarch push NAME`: a stored image goes to the registry its name says, then the referrers kept with it
 * (attestations built with style=referrers), each after its subject, as a build's --push sends them
 * (through the referrers API, or the referrers tag schema where the registry has none).
 */
import type { ContentStore } from "../content/types.ts";
import { parseManifest } from "../oci/manifest.ts";
import { pushImage } from "../registry/push.ts";
import { parseReference } from "../registry/reference.ts";
import { pushReferrer } from "../registry/referrers.ts";
import type { RegistryClients } from "../registry/registry-clients.ts";
import { type StoredImage, storedReferrers } from "./image-store.ts";

export async function pushStoredImage(
  clients: RegistryClients,
  store: ContentStore,
  image: StoredImage,
): Promise<void> {
  const target = parseReference(image.name);
  await pushImage(clients, store, image.descriptor, target);
  for (const referrer of await storedReferrers(store, image.name)) {
    const m = parseManifest(await store.readBytes(referrer.digest), referrer.digest);
    if (!m.subject) continue; // only artifacts about a manifest are kept as referrers
    await pushReferrer(clients, store, referrer, [m.config, ...m.layers], m.subject.digest, target);
  }
}
