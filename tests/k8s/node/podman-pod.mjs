// Rewrite a Pod manifest for `podman kube play` 4.3, which has no native
// sidecars: it runs every initContainer to completion before it starts the
// containers, so a sidecar that never exits (restartPolicy: Always, like
// stint-peer with then = wait) blocks the pod forever (seen: `kube play`
// hangs with the OS container "Created"). Here each such sidecar becomes the
// first regular container instead, which is what Kubernetes does with it in
// effect (started first, runs beside the others). PersistentVolumeClaim
// objects are dropped: podman 4.3 creates a named volume for each one and
// refuses to play the file again once it exists ("volume already exists"),
// while a claimName with no such object gets a named volume created on first
// use and reused afterwards, which is the PVC behaviour a replay needs.
// Nothing else is changed; options (JSON on argv[3]) may add test variants:
//   {"dropAll": true}   os container: capabilities drop ALL (as the overlay)
//   {"peerArgs": [...]} appended to the peer's command (e.g. --mode pivot)
//   node podman-pod.mjs k8s/pod.yaml '{"dropAll":true}' > play.yaml
//   kubectl kustomize k8s/overlays/pivot-drop-all > ss.yaml; node podman-pod.mjs ss.yaml
import { readFileSync } from "node:fs";
import { parseAllDocuments, stringify } from "yaml";

const [file, optsJson] = process.argv.slice(2);
const opts = JSON.parse(optsJson || "{}");
// A StatefulSet (e.g. a rendered kustomization) becomes its first pod, as
// the controller would make it: NAME-0, each volumeClaimTemplate a claim
// named TEMPLATE-NAME-0. Services are dropped (podman has no use for them).
function podOf(ss) {
	const name = `${ss.metadata.name}-0`;
	const spec = structuredClone(ss.spec.template.spec);
	spec.volumes = [...(spec.volumes || []), ...(ss.spec.volumeClaimTemplates || []).map((t) => ({
		name: t.metadata.name,
		persistentVolumeClaim: { claimName: `${t.metadata.name}-${name}` },
	}))];
	return { apiVersion: "v1", kind: "Pod", metadata: { name, labels: ss.spec.template.metadata?.labels }, spec };
}

const docs = parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS())
	.filter((o) => o && o.kind !== "PersistentVolumeClaim" && o.kind !== "Service")
	.map((o) => (o.kind === "StatefulSet" ? podOf(o) : o));
for (const o of docs) {
	if (o.kind !== "Pod") continue;
	const spec = o.spec;
	const sidecars = (spec.initContainers || []).filter((c) => c.restartPolicy === "Always");
	spec.initContainers = (spec.initContainers || []).filter((c) => c.restartPolicy !== "Always");
	if (!spec.initContainers.length) delete spec.initContainers;
	for (const c of sidecars) delete c.restartPolicy;
	spec.containers = [...sidecars, ...spec.containers];
	const os = spec.containers.find((c) => c.name === "os");
	const peer = spec.containers.find((c) => c.name === "stint-peer");
	if (opts.dropAll) os.securityContext = { ...os.securityContext, capabilities: { drop: ["ALL"] } };
	if (opts.peerArgs) peer.command.push(...opts.peerArgs);
}
process.stdout.write(docs.map((d) => stringify(d)).join("---\n"));
