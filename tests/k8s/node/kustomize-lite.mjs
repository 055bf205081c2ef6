// Render a kustomization the way `kustomize build` does, for the small
// subset stint's k8s/ uses, when no kustomize (or kubectl) is installed.
//
//   node kustomize-lite.mjs DIR      -> the rendered YAML stream on stdout
//
// Supported kustomization keys: namespace (set on every namespaced object;
// a Namespace object is renamed to it, as kustomize does), resources (files,
// or directories holding a kustomization), images (name, newName, newTag, digest), patches with an
// inline or file JSON 6902 patch (list of add/replace/remove/test ops) and a
// target {group, version, kind, name}. Anything else is refused with an
// error rather than silently ignored, so a kustomization this script cannot
// render fully fails the test instead of passing half-rendered.
// tests/k8s/test-manifests.sh compares its output with `kubectl kustomize`
// where kubectl exists, so the subset stays faithful.
import { readFileSync, existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments, parse, stringify } from "yaml";

const SUPPORTED = new Set(["apiVersion", "kind", "namespace", "resources", "images", "patches"]);
// Kinds without a namespace (the ones kustomize's namespace transformer
// leaves alone, among those these manifests could hold).
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
	"PersistentVolume", "StorageClass", "PriorityClass", "RuntimeClass"]);

function die(msg) {
	console.error(`kustomize-lite: ${msg}`);
	process.exit(1);
}

function kustomizationFile(dir) {
	for (const n of ["kustomization.yaml", "kustomization.yml", "Kustomization"]) {
		if (existsSync(join(dir, n))) return join(dir, n);
	}
	die(`${dir}: no kustomization.yaml`);
}

// RFC 6901 pointer -> path segments.
function pointer(p) {
	if (p === "") return [];
	if (!p.startsWith("/")) die(`bad JSON pointer '${p}'`);
	return p.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

// Apply one RFC 6902 operation (add, replace, remove) to obj.
function applyOp(obj, op, where) {
	const segs = pointer(op.path);
	const last = segs.pop();
	let parent = obj;
	for (const s of segs) {
		if (parent === null || typeof parent !== "object" || !(s in parent)) die(`${where}: path ${op.path} does not exist`);
		parent = parent[s];
	}
	const isArr = Array.isArray(parent);
	const idx = isArr ? (last === "-" ? parent.length : Number(last)) : last;
	switch (op.op) {
	case "add":
		if (isArr) parent.splice(idx, 0, op.value);
		else parent[idx] = op.value;
		break;
	case "replace":
		if (!(idx in parent)) die(`${where}: replace of missing ${op.path}`);
		parent[idx] = op.value;
		break;
	case "test":
		if (JSON.stringify(parent[idx]) !== JSON.stringify(op.value))
			die(`${where}: test failed: ${op.path} is ${JSON.stringify(parent[idx])}, not ${JSON.stringify(op.value)}`);
		break;
	case "remove":
		if (!(idx in parent)) die(`${where}: remove of missing ${op.path}`);
		if (isArr) parent.splice(idx, 1);
		else delete parent[idx];
		break;
	default:
		die(`${where}: op '${op.op}' not supported`);
	}
}

function matches(obj, t) {
	const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
	return (t.kind === undefined || t.kind === obj.kind) &&
		(t.name === undefined || t.name === obj.metadata?.name) &&
		(t.group === undefined || t.group === group) &&
		(t.version === undefined || t.version === version);
}

// images: rewrite container and initContainer images of pod templates.
function setImages(objs, images) {
	const specs = (o) => [o.spec, o.spec?.template?.spec].filter(Boolean);
	for (const o of objs) {
		for (const spec of specs(o)) {
			for (const c of [...(spec.initContainers || []), ...(spec.containers || [])]) {
				for (const im of images) {
					const m = /^(.*?)(?:(@sha256:[0-9a-f]+)|:([^/:]+))?$/.exec(c.image);
					if (m[1] !== im.name) continue;
					let tag = m[2] ?? (m[3] !== undefined ? `:${m[3]}` : "");
					if (im.newTag !== undefined) tag = `:${im.newTag}`;
					if (im.digest !== undefined) tag = `@${im.digest}`;
					c.image = (im.newName ?? m[1]) + tag;
				}
			}
		}
	}
}

function render(dir) {
	const file = kustomizationFile(dir);
	const k = parse(readFileSync(file, "utf8"));
	for (const key of Object.keys(k)) if (!SUPPORTED.has(key)) die(`${file}: key '${key}' not supported by this renderer`);
	let objs = [];
	for (const r of k.resources || []) {
		const p = resolve(dir, r);
		if (!existsSync(p)) die(`${file}: resource ${r} not found`);
		if (statSync(p).isDirectory()) objs.push(...render(p));
		else for (const d of parseAllDocuments(readFileSync(p, "utf8"))) {
			if (d.errors.length) die(`${p}: ${d.errors[0].message}`);
			const o = d.toJS();
			if (o) objs.push(o);
		}
	}
	for (const [i, pt] of (k.patches || []).entries()) {
		const where = `${file}: patches[${i}]`;
		if (!pt.target) die(`${where}: only targeted JSON 6902 patches are supported`);
		const text = pt.patch ?? (pt.path && readFileSync(resolve(dir, pt.path), "utf8"));
		const ops = parse(text);
		if (!Array.isArray(ops)) die(`${where}: not a JSON 6902 patch (a list of ops)`);
		const hits = objs.filter((o) => matches(o, pt.target));
		if (!hits.length) die(`${where}: target matches no resource`);
		for (const o of hits) for (const op of ops) applyOp(o, op, where);
	}
	if (k.images) setImages(objs, k.images);
	if (k.namespace) {
		for (const o of objs) {
			if (o.kind === "Namespace") o.metadata.name = k.namespace;
			else if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
		}
	}
	return objs;
}

const dir = process.argv[2];
if (!dir) die("usage: node kustomize-lite.mjs DIR");
process.stdout.write(render(dir).map((o) => stringify(o)).join("---\n"));
