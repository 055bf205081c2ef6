// A Pod Security Standards checker for the fields stint's manifests (and
// the self-tests' broken variants) use: each control of the "baseline" and
// "restricted" levels as Pod Security Admission evaluates them at policy
// version 1.35 and later (k8s.io/pod-security-admission, policy/check_*.go),
// written from those rules, not from that code. It decides which level a
// pod (or a workload's pod template) meets, and whether the Namespace in
// the same stream admits it.
//
//   node pss.mjs [--only CONTAINER] [--set PATH=JSON]... FILE...
//       one JSON line per pod (Pod, or the template of a StatefulSet,
//       Deployment, DaemonSet, ReplicaSet, Job):
//       {"object": "StatefulSet/stint-os", "level": "privileged",
//        "baseline": ["privileged: container stint-peer ..."], "restricted": [...]}
//       "level" is the strictest level with no violation. --only keeps one
//       container (pod-level fields still count): what that container alone
//       would pass. --set changes the pod spec first; PATH is /-separated
//       below the pod spec, "containers/NAME" picks a container (or init
//       container) by name: --set hostUsers=false
//       --set 'containers/os/securityContext/seccompProfile={"type":"RuntimeDefault"}'
//   node pss.mjs --variants [--only C] [--set ...] FILE < LINES
//       the same for each line of stdin: a variant is a space-separated list
//       of further PATH=JSON changes ("-" for none); one JSON line each, in
//       order (one node process for many cases).
//   node pss.mjs --admit FILE...
//       every pod in a namespace must be admitted by the Namespace object of
//       that name in the same files (its pod-security.kubernetes.io/enforce
//       label); prints one line per pod with the warn and audit results;
//       exit 1 if one is rejected or has no such Namespace.
// Exit 2 on usage errors.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const LEVELS = ["privileged", "baseline", "restricted"];
const BASELINE_CAPS = new Set(["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]);
const SAFE_SYSCTLS = new Set(["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
	"net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.ipv4.tcp_slow_start_after_idle"]);
const SELINUX_TYPES = new Set(["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]);
const RESTRICTED_VOLUMES = new Set(["configMap", "downwardAPI", "emptyDir", "projected", "secret", "csi",
	"persistentVolumeClaim", "ephemeral", "image"]);
const WORKLOADS = new Set(["StatefulSet", "Deployment", "DaemonSet", "ReplicaSet", "Job"]);

function die(msg) {
	console.error(`pss: ${msg}`);
	process.exit(2);
}

const containersOf = (spec) => [...(spec.initContainers || []), ...(spec.containers || []),
	...(spec.ephemeralContainers || [])];

// Each check: (meta, spec) -> list of violation strings. A user namespace
// (hostUsers: false) relaxes procMount, runAsNonRoot and runAsUser.
const userns = (spec) => spec.hostUsers === false;

const BASELINE = {
	hostProcess(meta, spec) {
		const on = (sc) => sc?.windowsOptions?.hostProcess === true;
		const bad = containersOf(spec).filter((c) => on(c.securityContext)).map((c) => c.name);
		return on(spec.securityContext) || bad.length ? [`hostProcess: pod or containers ${bad.join(", ")}`] : [];
	},
	hostNamespaces(meta, spec) {
		const on = ["hostNetwork", "hostPID", "hostIPC"].filter((k) => spec[k] === true);
		return on.length ? [`host namespaces: ${on.map((k) => `${k}=true`).join(", ")}`] : [];
	},
	privileged(meta, spec) {
		return containersOf(spec).filter((c) => c.securityContext?.privileged === true)
			.map((c) => `privileged: container ${c.name} sets securityContext.privileged=true`);
	},
	capabilities(meta, spec) {
		return containersOf(spec).flatMap((c) => {
			const bad = (c.securityContext?.capabilities?.add || []).filter((x) => !BASELINE_CAPS.has(x));
			return bad.length ? [`capabilities: container ${c.name} adds ${bad.join(", ")}`] : [];
		});
	},
	hostPathVolumes(meta, spec) {
		return (spec.volumes || []).filter((v) => v.hostPath).map((v) => `hostPath volume: ${v.name}`);
	},
	hostPorts(meta, spec) {
		return containersOf(spec).flatMap((c) => (c.ports || []).filter((p) => p.hostPort)
			.map((p) => `hostPort: container ${c.name} uses ${p.hostPort}`));
	},
	hostProbesAndLifecycle(meta, spec) {
		const out = [];
		for (const c of containersOf(spec)) {
			const handlers = [c.livenessProbe, c.readinessProbe, c.startupProbe, c.lifecycle?.postStart,
				c.lifecycle?.preStop].filter(Boolean);
			for (const h of handlers) {
				for (const k of ["httpGet", "tcpSocket"]) {
					if (h[k]?.host) out.push(`probe/lifecycle host: container ${c.name} sets ${k}.host=${h[k].host}`);
				}
			}
		}
		return out;
	},
	appArmor(meta, spec) {
		const out = [];
		for (const [k, v] of Object.entries(meta?.annotations || {})) {
			if (k.startsWith("container.apparmor.security.beta.kubernetes.io/") && v !== "runtime/default" &&
				!v.startsWith("localhost/")) out.push(`appArmor: annotation ${k}=${v}`);
		}
		const bad = (sc) => sc?.appArmorProfile && !["RuntimeDefault", "Localhost"].includes(sc.appArmorProfile.type);
		if (bad(spec.securityContext)) out.push(`appArmor: pod profile ${spec.securityContext.appArmorProfile.type}`);
		for (const c of containersOf(spec)) {
			if (bad(c.securityContext)) out.push(`appArmor: container ${c.name} profile ${c.securityContext.appArmorProfile.type}`);
		}
		return out;
	},
	seLinuxOptions(meta, spec) {
		const check = (sc, who) => {
			const o = sc?.seLinuxOptions;
			if (!o) return [];
			const out = [];
			if (!SELINUX_TYPES.has(o.type ?? "")) out.push(`seLinuxOptions: ${who} type ${o.type}`);
			if (o.user) out.push(`seLinuxOptions: ${who} sets user`);
			if (o.role) out.push(`seLinuxOptions: ${who} sets role`);
			return out;
		};
		return [...check(spec.securityContext, "pod"),
			...containersOf(spec).flatMap((c) => check(c.securityContext, `container ${c.name}`))];
	},
	procMount(meta, spec) {
		if (userns(spec)) return [];
		return containersOf(spec).filter((c) => (c.securityContext?.procMount ?? "Default") !== "Default")
			.map((c) => `procMount: container ${c.name} sets ${c.securityContext.procMount}`);
	},
	seccompProfile(meta, spec) {
		const bad = (sc) => sc?.seccompProfile?.type === "Unconfined";
		const out = bad(spec.securityContext) ? ["seccompProfile: pod Unconfined"] : [];
		return [...out, ...containersOf(spec).filter((c) => bad(c.securityContext))
			.map((c) => `seccompProfile: container ${c.name} Unconfined`)];
	},
	sysctls(meta, spec) {
		return (spec.securityContext?.sysctls || []).filter((s) => !SAFE_SYSCTLS.has(s.name))
			.map((s) => `sysctls: ${s.name}`);
	},
};

const RESTRICTED = {
	volumeTypes(meta, spec) {
		return (spec.volumes || []).flatMap((v) => {
			const types = Object.keys(v).filter((k) => k !== "name");
			const bad = types.filter((t) => !RESTRICTED_VOLUMES.has(t));
			return bad.length ? [`volume types: ${v.name} is ${bad.join(", ")}`] : [];
		});
	},
	allowPrivilegeEscalation(meta, spec) {
		if (spec.os?.name === "windows") return [];
		return containersOf(spec).filter((c) => c.securityContext?.allowPrivilegeEscalation !== false)
			.map((c) => `allowPrivilegeEscalation != false: container ${c.name}`);
	},
	runAsNonRoot(meta, spec) {
		if (userns(spec)) return [];
		const pod = spec.securityContext?.runAsNonRoot;
		const out = pod === false ? ["runAsNonRoot: pod sets false"] : [];
		for (const c of containersOf(spec)) {
			const v = c.securityContext?.runAsNonRoot;
			if (v === false) out.push(`runAsNonRoot: container ${c.name} sets false`);
			else if (v === undefined && pod !== true) out.push(`runAsNonRoot: container ${c.name} does not set true`);
		}
		return out;
	},
	runAsUser(meta, spec) {
		if (userns(spec)) return [];
		const out = spec.securityContext?.runAsUser === 0 ? ["runAsUser=0: pod"] : [];
		return [...out, ...containersOf(spec).filter((c) => c.securityContext?.runAsUser === 0)
			.map((c) => `runAsUser=0: container ${c.name}`)];
	},
	seccompProfileRequired(meta, spec) {
		const ok = (sc) => ["RuntimeDefault", "Localhost"].includes(sc?.seccompProfile?.type);
		if (spec.os?.name === "windows") return [];
		const podOk = ok(spec.securityContext);
		return containersOf(spec).filter((c) => !ok(c.securityContext) &&
			!(podOk && c.securityContext?.seccompProfile === undefined))
			.map((c) => `seccompProfile: container ${c.name} has no RuntimeDefault or Localhost profile`);
	},
	capabilitiesRestricted(meta, spec) {
		return containersOf(spec).flatMap((c) => {
			const caps = c.securityContext?.capabilities || {};
			const out = [];
			if (!(caps.drop || []).includes("ALL")) out.push(`capabilities: container ${c.name} does not drop ALL`);
			const bad = (caps.add || []).filter((x) => x !== "NET_BIND_SERVICE");
			if (bad.length) out.push(`capabilities: container ${c.name} adds ${bad.join(", ")} (only NET_BIND_SERVICE)`);
			return out;
		});
	},
};

export function evaluate(meta, spec) {
	const run = (checks) => Object.values(checks).flatMap((f) => f(meta, spec));
	const baseline = run(BASELINE);
	const restricted = [...baseline, ...run(RESTRICTED)];
	const level = baseline.length ? "privileged" : restricted.length ? "baseline" : "restricted";
	return { level, baseline, restricted };
}

// The pods of a stream: [{name, namespace, meta, spec}].
function podsOf(objs) {
	const out = [];
	for (const o of objs) {
		if (o.kind === "Pod") out.push({ name: `Pod/${o.metadata.name}`, namespace: o.metadata.namespace, meta: o.metadata, spec: o.spec });
		else if (WORKLOADS.has(o.kind) && o.spec?.template?.spec) {
			out.push({ name: `${o.kind}/${o.metadata.name}`, namespace: o.metadata.namespace,
				meta: o.spec.template.metadata || {}, spec: o.spec.template.spec });
		}
	}
	return out;
}

function setPath(spec, path, value) {
	const segs = path.split("/");
	let node = spec;
	for (let i = 0; i < segs.length - 1; i++) {
		const s = segs[i];
		if (s === "containers" && i + 1 < segs.length - 1) {
			const name = segs[++i];
			node = [...(node.initContainers || []), ...(node.containers || [])].find((c) => c.name === name);
			if (!node) die(`--set ${path}: no container ${name}`);
			continue;
		}
		if (node[s] === undefined) node[s] = {};
		node = node[s];
	}
	node[segs[segs.length - 1]] = value;
}

function parseSet(arg) {
	const m = /^([^=]+)=(.*)$/s.exec(arg || "");
	if (!m) die(`--set needs PATH=JSON, not '${arg}'`);
	try {
		return [m[1], JSON.parse(m[2])];
	} catch {
		return die(`--set ${m[1]}: value is not JSON: ${m[2]}`);
	}
}

function main(argv) {
	let only = null, admit = false, variants = false;
	const sets = [], files = [];
	for (let i = 0; i < argv.length; i++) {
		if (argv[i] === "--only") only = argv[++i];
		else if (argv[i] === "--admit") admit = true;
		else if (argv[i] === "--variants") variants = true;
		else if (argv[i] === "--set") sets.push(parseSet(argv[++i]));
		else if (argv[i].startsWith("-")) die(`unknown option ${argv[i]}`);
		else files.push(argv[i]);
	}
	if (!files.length) die("usage: node pss.mjs [--only CONTAINER] [--set PATH=JSON]... [--admit] FILE...");
	const objs = files.flatMap((f) => parseAllDocuments(readFileSync(f, "utf8")).map((d) => d.toJS()).filter(Boolean));
	const pods = podsOf(objs);
	if (!pods.length) die(`no Pod or pod template in ${files.join(" ")}`);
	const lines = variants ? readFileSync(0, "utf8").split("\n").filter((l) => l.trim()) : [null];
	let rc = 0;
	for (const p of pods) for (const line of lines) {
		const spec = structuredClone(p.spec);
		const extra = line && line.trim() !== "-" ? line.trim().split(/\s+/).map(parseSet) : [];
		for (const [path, v] of [...sets, ...extra]) setPath(spec, path, v);
		if (only) {
			const keep = (cs) => (cs || []).filter((c) => c.name === only);
			if (!containersOf(spec).some((c) => c.name === only)) die(`${p.name}: no container ${only}`);
			spec.initContainers = keep(spec.initContainers);
			spec.containers = keep(spec.containers);
		}
		const r = evaluate(p.meta, spec);
		if (!admit) {
			console.log(JSON.stringify({ object: p.name, ...(only ? { container: only } : {}),
				...(line !== null ? { variant: line } : {}), ...r }));
			continue;
		}
		const ns = objs.find((o) => o.kind === "Namespace" && o.metadata.name === (p.namespace || "default"));
		if (!ns) {
			console.log(`${p.name}: no Namespace ${p.namespace || "default"} in the files`);
			rc = 1;
			continue;
		}
		const label = (mode) => ns.metadata.labels?.[`pod-security.kubernetes.io/${mode}`] ?? "privileged";
		const meets = (lvl) => LEVELS.indexOf(r.level) >= LEVELS.indexOf(lvl);
		const enforce = label("enforce");
		if (!LEVELS.includes(enforce)) die(`Namespace ${ns.metadata.name}: enforce level '${enforce}' is not a level`);
		const note = (mode) => (meets(label(mode)) ? "clean" : `${r[label(mode)].length} violation(s) of ${label(mode)}`);
		console.log(`${p.name} in ${ns.metadata.name}: needs ${r.level}; enforce ${enforce}: ` +
			`${meets(enforce) ? "admitted" : "REJECTED"}; warn: ${note("warn")}; audit: ${note("audit")}`);
		if (!meets(enforce)) rc = 1;
	}
	return rc;
}

process.exit(main(process.argv.slice(2)));
