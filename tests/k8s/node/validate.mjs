// Validate Kubernetes manifests against the API's OpenAPI schema.
//
//   node validate.mjs FILE.yaml...     (or "-" for stdin)
//
// Two independent checks per object, both generated from the Kubernetes
// OpenAPI document, none written by hand:
//  1. kubernetes-models' validate(): JSON-schema (ajv) check of types, enums
//     (e.g. lifecycle.stopSignal's list of signal names), required fields.
//  2. unknown fields: those schemas do not set additionalProperties, so a
//     misspelt or misplaced key would pass check 1. We walk the object along
//     @kubernetes/client-node's attribute type map (the same OpenAPI, release
//     1.36) and report every key the API does not define, as the API server's
//     strict field validation (kubectl --validate=strict) would.
// Prints one line per problem ("FILE: #N Kind/name: /path: message") and a
// summary per file; exits 1 if anything is wrong, 2 on usage errors.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import * as k8s from "@kubernetes/client-node/dist/gen/models/all.js";

const PRIMITIVES = {
	string: (v) => typeof v === "string",
	number: (v) => typeof v === "number",
	boolean: (v) => typeof v === "boolean",
	Date: (v) => typeof v === "string",
	IntOrString: (v) => typeof v === "string" || Number.isInteger(v),
	any: () => true,
	object: (v) => v !== null && typeof v === "object",
};

// Type name of the client-node model for an apiVersion/kind:
// apps/v1 StatefulSet -> V1StatefulSet, v1 Pod -> V1Pod.
function modelName(apiVersion, kind) {
	const version = apiVersion.split("/").pop();
	return version.charAt(0).toUpperCase() + version.slice(1) + kind;
}

// Report every key of `value` that the OpenAPI type `type` does not define.
function unknownFields(value, type, path, out) {
	if (value === null || value === undefined) return;
	let m;
	if (type in PRIMITIVES) {
		if (!PRIMITIVES[type](value)) out.push(`${path || "/"}: expected ${type}, got ${JSON.stringify(value)}`);
		return;
	}
	if ((m = /^Array<(.+)>$/.exec(type))) {
		if (!Array.isArray(value)) return out.push(`${path}: expected a list`);
		value.forEach((v, i) => unknownFields(v, m[1], `${path}/${i}`, out));
		return;
	}
	if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(type))) {
		if (typeof value !== "object" || Array.isArray(value)) return out.push(`${path}: expected a map`);
		for (const [k, v] of Object.entries(value)) unknownFields(v, m[1], `${path}/${k}`, out);
		return;
	}
	const model = k8s[type];
	if (!model || typeof model.getAttributeTypeMap !== "function") {
		out.push(`${path}: validator does not know type ${type}`);
		return;
	}
	if (typeof value !== "object" || Array.isArray(value)) return out.push(`${path}: expected an object (${type})`);
	const attrs = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
	for (const [k, v] of Object.entries(value)) {
		if (!attrs.has(k)) out.push(`${path}/${k}: unknown field (not in ${type})`);
		else unknownFields(v, attrs.get(k), `${path}/${k}`, out);
	}
}

// Check 1: the kubernetes-models class for this apiVersion/kind.
async function schemaErrors(obj) {
	let mod;
	try {
		mod = await import(`kubernetes-models/${obj.apiVersion}/${obj.kind}`);
	} catch {
		return [`no schema for apiVersion ${obj.apiVersion} kind ${obj.kind}`];
	}
	try {
		new mod[obj.kind](obj).validate();
		return [];
	} catch (e) {
		const errs = e.errors || [{ instancePath: "", message: e.message }];
		return errs.map((x) => `${x.instancePath || "/"}: ${x.message}${x.params?.allowedValues ? ` (${x.params.allowedValues.length} allowed values)` : ""}`);
	}
}

async function checkObject(obj) {
	if (!obj || typeof obj !== "object") return ["document is not a mapping"];
	if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string") return ["missing apiVersion or kind"];
	const errs = await schemaErrors(obj);
	const type = modelName(obj.apiVersion, obj.kind);
	if (!k8s[type]) errs.push(`unknown apiVersion/kind ${obj.apiVersion} ${obj.kind}`);
	else unknownFields(obj, type, "", errs);
	return errs;
}

async function checkFile(file) {
	const text = readFileSync(file === "-" ? 0 : file, "utf8");
	const docs = parseAllDocuments(text, { prettyErrors: true });
	let bad = 0, n = 0;
	for (const [i, doc] of docs.entries()) {
		for (const e of doc.errors) {
			console.log(`${file}: YAML: ${e.message}`);
			bad++;
		}
		const obj = doc.toJS();
		if (obj === null || obj === undefined) continue; // empty document
		n++;
		const name = `#${i + 1} ${obj.kind ?? "?"}/${obj.metadata?.name ?? "?"}`;
		for (const e of await checkObject(obj)) {
			console.log(`${file}: ${name}: ${e}`);
			bad++;
		}
	}
	if (n === 0) {
		console.log(`${file}: no Kubernetes object found`);
		bad++;
	}
	if (!bad) console.log(`${file}: ${n} object(s) valid`);
	return bad;
}

const files = process.argv.slice(2);
if (!files.length) {
	console.error("usage: node validate.mjs FILE.yaml... (- for stdin)");
	process.exit(2);
}
let bad = 0;
for (const f of files) bad += await checkFile(f);
process.exit(bad ? 1 : 0);
