// Exit 0 if two YAML streams hold the same Kubernetes objects (order of
// documents and of keys ignored), else print the first difference, exit 1.
//   node same-objects.mjs A.yaml B.yaml
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

function load(file) {
	const objs = parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS()).filter(Boolean);
	return new Map(objs.map((o) => [`${o.apiVersion} ${o.kind} ${o.metadata?.name}`, o]));
}

// JSON with sorted keys, so key order does not matter.
function canon(v) {
	if (Array.isArray(v)) return `[${v.map(canon).join(",")}]`;
	if (v && typeof v === "object") return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon(v[k])}`).join(",")}}`;
	return JSON.stringify(v);
}

const [a, b] = [load(process.argv[2]), load(process.argv[3])];
let same = a.size === b.size;
for (const [id, o] of a) {
	if (!b.has(id)) { console.log(`only in ${process.argv[2]}: ${id}`); same = false; continue; }
	if (canon(o) !== canon(b.get(id))) {
		console.log(`differs: ${id}\n  ${canon(o)}\n  ${canon(b.get(id))}`);
		same = false;
	}
}
for (const id of b.keys()) if (!a.has(id)) { console.log(`only in ${process.argv[3]}: ${id}`); same = false; }
process.exit(same ? 0 : 1);
