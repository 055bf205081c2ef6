#!/usr/bin/env bash
# Every Kubernetes manifest in k8s/ is valid: yamllint (warnings fail), the
# Kubernetes OpenAPI schema (tests/k8s/node/validate.mjs: kubernetes-models'
# validators plus an unknown-field walk over @kubernetes/client-node's type
# map, both from the 1.36 API), rendered kustomizations (base and overlay)
# validated the same way, and the validator itself proven to reject broken
# manifests. Also: the plain Pod has the StatefulSet's shape, and the INI
# files in the ConfigMaps are accepted by the real programs.
source "$(dirname "$0")/../lib/libtest.sh"

K8S=$TOP/k8s
NODE_DIR=${STINT_NODE_DIR:-$TOP/cache/node}
KUBECTL=$(command -v kubectl || true)

test_node_setup() {
	command -v node >/dev/null || fail "node not installed (Node.js >= 18 is needed for the schema validator)"
	timeout 600 "$TOP/tests/k8s/setup-node.sh" || fail "installing the npm packages failed"
	node --version
}

validate() { node "$NODE_DIR/validate.mjs" "$@"; }

test_yamllint() {
	command -v yamllint >/dev/null || fail "yamllint not installed (apt-get install yamllint)"
	yamllint -s -c "$TOP/tests/k8s/yamllint.yaml" "$K8S" "$TOP/examples"
}

test_plain_manifests() {
	validate "$K8S/statefulset.yaml" "$K8S/pod.yaml" "$TOP/examples/shell-flow/pod.yaml"
}

# render DIR OUT: kustomize output of DIR. Our subset renderer always; when
# kubectl (with its built-in kustomize) exists, also kubectl's, and both
# must give the same objects.
render() {
	local dir=$1 out=$2
	node "$NODE_DIR/kustomize-lite.mjs" "$dir" >"$out"
	if [ -n "$KUBECTL" ]; then
		timeout 60 "$KUBECTL" kustomize "$dir" >"$out.kubectl"
		node "$NODE_DIR/same-objects.mjs" "$out.kubectl" "$out" ||
			fail "kustomize-lite and kubectl kustomize disagree on $dir"
		echo "kubectl kustomize agrees on $dir"
	else
		echo "# no kubectl: $dir rendered by tests/k8s/node/kustomize-lite.mjs only"
	fi
}

# The base renders to statefulset.yaml's objects, each in the namespace
# "stint", plus that Namespace (k8s/base/namespace.yaml).
test_kustomize_base() {
	render "$K8S/base" base.yaml
	validate base.yaml
	node --input-type=module -e '
		import { readFileSync } from "node:fs";
		import { parseAllDocuments, stringify } from "'"$NODE_DIR"'/node_modules/yaml/dist/index.js";
		const objs = parseAllDocuments(readFileSync("base.yaml", "utf8")).map((d) => d.toJS()).filter(Boolean);
		const ns = objs.filter((o) => o.kind === "Namespace");
		if (ns.length !== 1 || ns[0].metadata.name !== "stint") { console.log("no Namespace stint"); process.exit(1); }
		const rest = objs.filter((o) => o.kind !== "Namespace");
		const stray = rest.filter((o) => o.metadata.namespace !== "stint");
		if (stray.length) { console.log(`not in namespace stint: ${stray.map((o) => o.kind).join(", ")}`); process.exit(1); }
		for (const o of rest) delete o.metadata.namespace;
		process.stdout.write(rest.map((o) => stringify(o)).join("---\n"));' >base-objects.yaml ||
		fail "the base does not put its objects into the namespace stint"
	node "$NODE_DIR/same-objects.mjs" base-objects.yaml "$K8S/statefulset.yaml" ||
		fail "the base does not render to statefulset.yaml"
}

# overlay_check DIR JS-CONDITION: render the overlay, validate it, and check
# what it says it changes (spec, os, peer, cm = the peer.ini text).
overlay_check() {
	render "$K8S/overlays/$1" "$1.yaml"
	validate "$1.yaml"
	node --input-type=module -e '
		import { readFileSync } from "node:fs";
		import { parseAllDocuments } from "'"$NODE_DIR"'/node_modules/yaml/dist/index.js";
		const docs = parseAllDocuments(readFileSync("'"$1"'.yaml", "utf8")).map((d) => d.toJS());
		const ss = docs.find((o) => o.kind === "StatefulSet");
		const cm = docs.find((o) => o.kind === "ConfigMap").data["peer.ini"];
		const spec = ss.spec.template.spec, os = spec.containers[0], peer = spec.initContainers[0];
		const ok = os.name === "os" && peer.restartPolicy === "Always" && ('"$2"');
		if (!ok) { console.log(JSON.stringify(spec, null, 1)); process.exit(1); }'
}

test_kustomize_overlay() {
	# No capabilities in the OS container; the base's pivot mode kept.
	overlay_check pivot-drop-all 'JSON.stringify(os.securityContext.capabilities) === "{\"drop\":[\"ALL\"]}" &&
		/^mode = pivot$/m.test(cm) && !peer.command.includes("--mode")'
}

test_kustomize_chroot() {
	# The base pivots; the chroot overlay switches the peer's mode only.
	overlay_check chroot '!os.securityContext.capabilities && peer.command.slice(-2).join(" ") === "--mode chroot"'
}

# hostusers_check FILE: the StatefulSet in FILE runs in a user namespace
# the way the API accepts it (pkg/apis/core/validation validateHostUsers:
# no hostNetwork, hostPID or hostIPC with hostUsers: false); the peer keeps
# its privilege (inside the pod's namespace), the OS container gets none;
# every volume is one the runtime can idmap (no raw block volumeDevices).
hostusers_check() {
	node --input-type=module -e '
		import { readFileSync } from "node:fs";
		import { parseAllDocuments } from "'"$NODE_DIR"'/node_modules/yaml/dist/index.js";
		const ss = parseAllDocuments(readFileSync(process.argv[1], "utf8")).map((d) => d.toJS())
			.find((o) => o && o.kind === "StatefulSet");
		const spec = ss.spec.template.spec, bad = [];
		if (spec.hostUsers !== false) bad.push("hostUsers is not false");
		for (const k of ["hostNetwork", "hostPID", "hostIPC"])
			if (spec[k]) bad.push(`${k}: true is forbidden with hostUsers: false`);
		const peer = spec.initContainers.find((c) => c.name === "stint-peer");
		const os = spec.containers.find((c) => c.name === "os");
		if (!peer?.securityContext?.privileged) bad.push("the peer is not privileged");
		if (os?.securityContext?.privileged) bad.push("the OS container is privileged");
		for (const c of [...spec.initContainers, ...spec.containers])
			if (c.volumeDevices?.length) bad.push(`${c.name}: volumeDevices cannot be idmapped`);
		if (ss.spec.template.metadata?.annotations?.["cgroup2-mount-hierarchy-rw.crio.io"] !== "true")
			bad.push("no cgroup2-mount-hierarchy-rw.crio.io annotation (systemd must own its cgroup)");
		if (bad.length) { console.log(bad.join("\n")); process.exit(1); }' "$1"
}

test_kustomize_host_users_false() {
	render "$K8S/overlays/host-users-false" userns.yaml
	validate userns.yaml
	hostusers_check userns.yaml
	# The check must catch what the API rejects.
	sed 's/^      hostUsers: false$/      hostUsers: false\n      hostPID: true/' userns.yaml >userns-hostpid.yaml
	cmp -s userns.yaml userns-hostpid.yaml && fail "could not add hostPID to the rendered overlay"
	! hostusers_check userns-hostpid.yaml || fail "the check accepted hostPID with hostUsers: false"
	! hostusers_check "$K8S/statefulset.yaml" || fail "the check accepted the base (no hostUsers: false)"
}

# The overlay README.md tells users to write (images renamed) renders and
# validates, with both images replaced.
test_readme_overlay() {
	mkdir -p my-overlay
	sed -n '/^   # my-overlay\/kustomization.yaml/,/^   ```/p' "$TOP/README.md" | sed '$d; s/^   //' |
		sed "s#\.\./k8s/base#$(realpath --relative-to=my-overlay "$K8S/base")#" >my-overlay/kustomization.yaml
	cat my-overlay/kustomization.yaml
	grep -q '^images:' my-overlay/kustomization.yaml || fail "README.md has no overlay example"
	render my-overlay readme.yaml
	validate readme.yaml
	grep -q 'image: registry.example.com/me/os:1$' readme.yaml || fail "OS image not renamed"
	grep -q 'image: registry.example.com/me/stint-peer:1$' readme.yaml || fail "peer image not renamed"
	! grep -q 'localhost/' readme.yaml || fail "a localhost/ image is left"
}

# The validator must catch each of these; otherwise a pass means nothing.
test_validator_rejects() {
	local bad name
	# name|sed expression applied to pod.yaml
	while IFS='|' read -r name bad; do
		sed -e "$bad" "$K8S/pod.yaml" >broken.yaml
		cmp -s broken.yaml "$K8S/pod.yaml" && fail "case '$name' did not change pod.yaml"
		if validate broken.yaml >out.txt 2>&1; then
			cat out.txt
			fail "validator accepted: $name"
		fi
		echo "rejected ($name): $(grep -v 'valid$' out.txt | head -n 1)"
	done <<'EOF'
misspelt field|s/restartPolicy: Always/restartPolicyy: Always/
misplaced field|s/^      tty: true/      tty: true\n      emptyDir: {}/
unknown stop signal|s/stopSignal: SIGRTMIN+3/stopSignal: SIGRTMIN+99/
wrong type|s/terminationGracePeriodSeconds: 60/terminationGracePeriodSeconds: "sixty"/
bad enum value|s/imagePullPolicy: IfNotPresent/imagePullPolicy: Sometimes/
missing required field|s/^    - name: os$/    -/
unknown kind|s/^kind: Pod$/kind: Pood/
EOF
}

pss() { node "$NODE_DIR/pss.mjs" "$@"; }
# level_of ARGS...: the Pod Security level pss.mjs finds (one pod).
level_of() { pss "$@" | sed -n 's/.*"level":"\([a-z]*\)".*/\1/p'; }
# What README.md says the OS container alone passes at restricted: in the
# overlay's pod with hostUsers: false and the runtime's seccomp profile.
RESTRICTED_SETS=(--set hostUsers=false --set 'containers/os/securityContext/seccompProfile={"type":"RuntimeDefault"}')

# The pods need the privileged level because of the peer's privileged: true
# and nothing else; the Namespace the kustomization ships enforces that
# level (warns at baseline, audits at restricted); a namespace enforcing
# baseline rejects them. The OS container alone meets baseline in both
# switch modes, and restricted in the pivot-drop-all overlay once the pod
# has hostUsers: false and seccompProfile RuntimeDefault.
test_pod_security() {
	local f out
	render "$K8S/base" base.yaml
	render "$K8S/overlays/pivot-drop-all" overlay.yaml
	render "$K8S/overlays/chroot" chroot.yaml
	for f in base.yaml overlay.yaml chroot.yaml; do
		pss --admit "$f" | tee admit.txt || fail "$f: the Namespace does not admit the pod"
		assert_file_has_content admit.txt '^StatefulSet/stint-os in stint: needs privileged; enforce privileged: admitted; warn: 1 violation\(s\) of baseline; audit: [0-9]+ violation\(s\) of restricted$'
		sed 's#pod-security.kubernetes.io/enforce: privileged#pod-security.kubernetes.io/enforce: baseline#' "$f" >strict.yaml
		cmp -s strict.yaml "$f" && fail "$f has no enforce: privileged label"
		if pss --admit strict.yaml >strict.txt; then cat strict.txt; fail "$f: admitted under enforce baseline"; fi
		assert_file_has_content strict.txt 'REJECTED'
	done
	for f in base.yaml overlay.yaml chroot.yaml "$K8S/pod.yaml"; do
		out=$(pss "$f")
		echo "$out"
		assert_eq "$(echo "$out" | sed -n 's/.*"baseline":\(\[[^]]*\]\).*/\1/p')" \
			'["privileged: container stint-peer sets securityContext.privileged=true"]' "$f: what breaks baseline"
		assert_eq "$(level_of --only os "$f")" baseline "$f: the OS container alone"
	done
	assert_eq "$(level_of --only os "${RESTRICTED_SETS[@]}" overlay.yaml)" restricted \
		"the overlay's OS container with hostUsers: false and RuntimeDefault"
	# The base's OS container keeps the runtime's capabilities and may
	# escalate: baseline even so.
	pss --only os "${RESTRICTED_SETS[@]}" base.yaml | tee base-os.txt
	assert_file_has_content base-os.txt '"level":"baseline"'
	assert_file_has_content base-os.txt 'does not drop ALL'
}

# pss.mjs must catch each of these (else a pass above means nothing), and
# must not flag what the standards allow. Each case changes the pod of
# k8s/pod.yaml ("pod") or the restricted variant of the overlay's pod
# ("restricted") and checks the OS container alone (pss.mjs --variants:
# one node process per group).
test_pss_checker() {
	local group name sets level want out n=0
	render "$K8S/overlays/pivot-drop-all" overlay.yaml
	# name|pod or restricted|PATH=JSON ... (space separated, - for none)|level|reason
	cat >cases.txt <<'EOF'
hostNetwork|pod|hostNetwork=true|privileged|hostNetwork=true
hostPID|pod|hostPID=true|privileged|hostPID=true
hostIPC|pod|hostIPC=true|privileged|hostIPC=true
privileged|pod|containers/os/securityContext/privileged=true|privileged|container os sets securityContext.privileged
capability beyond the default set|pod|containers/os/securityContext/capabilities={"add":["SYS_ADMIN"]}|privileged|adds SYS_ADMIN
NET_RAW is not in baseline's set|pod|containers/os/securityContext/capabilities={"add":["NET_RAW"]}|privileged|adds NET_RAW
a default capability is allowed|pod|containers/os/securityContext/capabilities={"add":["CHOWN"]}|baseline|
hostPath volume|pod|volumes=[{"name":"h","hostPath":{"path":"/"}}]|privileged|hostPath volume: h
hostPort|pod|containers/os/ports=[{"containerPort":22,"hostPort":2222}]|privileged|uses 2222
procMount Unmasked|pod|containers/os/securityContext/procMount="Unmasked"|privileged|procMount
procMount Unmasked with hostUsers false|pod|hostUsers=false containers/os/securityContext/procMount="Unmasked"|baseline|
seccomp Unconfined (container)|pod|containers/os/securityContext/seccompProfile={"type":"Unconfined"}|privileged|container os Unconfined
seccomp Unconfined (pod)|pod|securityContext={"seccompProfile":{"type":"Unconfined"}}|privileged|pod Unconfined
unsafe sysctl|pod|securityContext={"sysctls":[{"name":"kernel.msgmax","value":"1"}]}|privileged|sysctls: kernel.msgmax
safe sysctl|pod|securityContext={"sysctls":[{"name":"net.ipv4.tcp_syncookies","value":"1"}]}|baseline|
AppArmor Unconfined|pod|containers/os/securityContext/appArmorProfile={"type":"Unconfined"}|privileged|appArmor
SELinux user|pod|containers/os/securityContext/seLinuxOptions={"user":"system_u"}|privileged|sets user
SELinux type container_t|pod|containers/os/securityContext/seLinuxOptions={"type":"container_t"}|baseline|
Windows hostProcess|pod|securityContext={"windowsOptions":{"hostProcess":true}}|privileged|hostProcess
probe host|pod|containers/os/readinessProbe={"httpGet":{"host":"192.0.2.1","port":80}}|privileged|httpGet.host
restricted as README says|restricted|-|restricted|
nfs volume|restricted|volumes=[{"name":"n","nfs":{"server":"s","path":"/"}}]|baseline|volume types: n is nfs
allowPrivilegeEscalation|restricted|containers/os/securityContext/allowPrivilegeEscalation=true|baseline|allowPrivilegeEscalation
root without a user namespace|restricted|hostUsers=true|baseline|runAsNonRoot: container os
runAsUser 0 without a user namespace|restricted|hostUsers=true securityContext={"runAsNonRoot":true,"runAsUser":0}|baseline|runAsUser=0: pod
runAsUser 0 in a user namespace|restricted|securityContext={"runAsUser":0}|restricted|
no seccomp profile|restricted|containers/os/securityContext/seccompProfile=null|baseline|no RuntimeDefault or Localhost
seccomp Localhost|restricted|containers/os/securityContext/seccompProfile={"type":"Localhost","localhostProfile":"p.json"}|restricted|
capability other than NET_BIND_SERVICE|restricted|containers/os/securityContext/capabilities={"drop":["ALL"],"add":["CHOWN"]}|baseline|only NET_BIND_SERVICE
NET_BIND_SERVICE is allowed|restricted|containers/os/securityContext/capabilities={"drop":["ALL"],"add":["NET_BIND_SERVICE"]}|restricted|
drop ALL missing|restricted|containers/os/securityContext/capabilities={}|baseline|does not drop ALL
EOF
	for group in pod restricted; do
		awk -F'|' -v g=$group '$2 == g {print $3}' cases.txt >"variants-$group.txt"
		if [ $group = pod ]; then
			pss --only os --variants "$K8S/pod.yaml" <"variants-$group.txt" >"out-$group.txt"
		else
			pss --only os "${RESTRICTED_SETS[@]}" --variants overlay.yaml <"variants-$group.txt" >"out-$group.txt"
		fi || fail "pss.mjs --variants failed ($group)"
		assert_eq "$(wc -l <"out-$group.txt")" "$(wc -l <"variants-$group.txt")" "answers for the $group cases"
	done
	declare -A seen=([pod]=0 [restricted]=0)
	while IFS='|' read -r name group sets level want; do
		# The answers come in the order of the cases of each group.
		seen[$group]=$((seen[$group] + 1))
		out=$(sed -n "${seen[$group]}p" "out-$group.txt")
		grep -qF "\"variant\":\"${sets//\"/\\\"}\"" <<<"$out" || { echo "$out"; fail "$name: answer out of order"; }
		[ -n "$out" ] || fail "$name: no answer"
		[ "$(echo "$out" | sed -n 's/.*"level":"\([a-z]*\)".*/\1/p')" = "$level" ] ||
			{ echo "$out"; fail "$name: expected level $level"; }
		[ -z "$want" ] || grep -qF -- "$want" <<<"$out" || { echo "$out"; fail "$name: no '$want'"; }
		echo "ok: $name -> $level${want:+ ($want)}"
		n=$((n + 1))
	done <cases.txt
	[ "$n" -eq 31 ] || fail "$n cases ran, not 31"
}

# yq-free extraction of a ConfigMap key from a manifest.
configmap_key() {
	node --input-type=module -e '
		import { readFileSync } from "node:fs";
		import { parseAllDocuments } from "'"$NODE_DIR"'/node_modules/yaml/dist/index.js";
		const cm = parseAllDocuments(readFileSync(process.argv[1], "utf8")).map((d) => d.toJS())
			.find((o) => o && o.kind === "ConfigMap");
		process.stdout.write(cm.data[process.argv[2]]);' "$1" "$2"
}

# pod.yaml is statefulset.yaml's pod, not a drifting copy: same INI files,
# same containers (names, images, commands, mounts, security, probes).
test_pod_matches_statefulset() {
	node --input-type=module -e '
		import { readFileSync } from "node:fs";
		import { parseAllDocuments } from "'"$NODE_DIR"'/node_modules/yaml/dist/index.js";
		const load = (f) => parseAllDocuments(readFileSync(f, "utf8")).map((d) => d.toJS()).filter(Boolean);
		const ss = load(process.argv[1]), pod = load(process.argv[2]);
		const get = (objs, kind) => objs.find((o) => o.kind === kind);
		const strip = (cs) => JSON.stringify(cs.map(({ imagePullPolicy, ...c }) => c));
		const a = get(ss, "StatefulSet").spec.template.spec, b = get(pod, "Pod").spec;
		const problems = [];
		if (JSON.stringify(get(ss, "ConfigMap").data) !== JSON.stringify(get(pod, "ConfigMap").data))
			problems.push("ConfigMap data differ");
		for (const k of ["initContainers", "containers"])
			if (strip(a[k]) !== strip(b[k])) problems.push(`${k} differ`);
		for (const k of ["os", "terminationGracePeriodSeconds"])
			if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) problems.push(`${k} differs`);
		if (problems.length) { console.log(problems.join("\n")); process.exit(1); }' \
		"$K8S/statefulset.yaml" "$K8S/pod.yaml"
}

# The INI files the manifests ship are accepted by the programs that read
# them (a key renamed in the code must fail here, not in a cluster).
test_ini_files_accepted() {
	local rc=0
	configmap_key "$K8S/statefulset.yaml" stint.ini >stint.ini
	configmap_key "$K8S/statefulset.yaml" peer.ini >peer.ini
	# A socket makes stint wait for a peer; 0.1 s later it gives up with 3.
	timeout 10 "$STINT" -c stint.ini --socket "$TEST_TMP/s.sock" --timeout 0.1 -- true >stint.out 2>&1 || rc=$?
	cat stint.out
	assert_eq "$rc" 3 "stint on the ConfigMap's stint.ini (2 = config error)"
	# The peer: parse and validate everything, find no init listening (no
	# socket), exit 0. Paths that would touch this machine are redirected.
	[ -x "$STINT_PEER" ] || fail "$STINT_PEER not built"
	rc=0
	timeout 10 "$STINT_PEER" prepare -c peer.ini --socket "$TEST_TMP/none.sock" --run-dir "$TEST_TMP/peer-run" \
		--notify "$TEST_TMP/peer-run/notify/notify.sock" --wait-socket 0 --then exit >peer.out 2>&1 || rc=$?
	cat peer.out
	assert_eq "$rc" 0 "stint-peer prepare on the ConfigMap's peer.ini (2 = config error)"
	assert_file_has_content peer.out 'no init listens'
	# And the readiness probe's command reads the same file.
	rc=0
	timeout 10 "$STINT_PEER" status -c peer.ini --run-dir "$TEST_TMP/none" >status.out 2>&1 || rc=$?
	cat status.out
	assert_eq "$rc" 1 "stint-peer status before any run (1 = not ready, 2 = usage)"
}

# The OS container stops through `stint halt` (preStop), whose timeout
# leaves the kubelet's stop signal part of the grace period.
test_prestop_halt() {
	local f
	for f in "$K8S/statefulset.yaml" "$K8S/pod.yaml"; do
		node --input-type=module -e '
			import { readFileSync } from "node:fs";
			import { parseAllDocuments } from "'"$NODE_DIR"'/node_modules/yaml/dist/index.js";
			const objs = parseAllDocuments(readFileSync(process.argv[1], "utf8")).map((d) => d.toJS()).filter(Boolean);
			const o = objs.find((x) => x.kind === "Pod" || x.kind === "StatefulSet");
			const spec = o.kind === "Pod" ? o.spec : o.spec.template.spec;
			const os = spec.containers.find((c) => c.name === "os");
			const cmd = os.lifecycle?.preStop?.exec?.command ?? [];
			const t = Number(cmd[cmd.indexOf("--timeout") + 1]);
			const ok = cmd[0] === "/usr/sbin/stint" && cmd[1] === "halt" && t > 0 && t < spec.terminationGracePeriodSeconds;
			console.log(`${process.argv[1]}: preStop ${JSON.stringify(cmd)}, grace ${spec.terminationGracePeriodSeconds}`);
			process.exit(ok ? 0 : 1);' "$f" || fail "$f: the OS container's preStop is not stint halt with a timeout under the grace period"
	done
}

run_test "setup: pinned npm packages of the schema validator" test_node_setup
run_test "yamllint -s k8s/ examples/" test_yamllint
run_test "statefulset.yaml, pod.yaml, shell-flow/pod.yaml match the Kubernetes 1.36 schema" test_plain_manifests
run_test "kustomize base renders to statefulset.yaml and validates" test_kustomize_base
run_test "kustomize overlay pivot-drop-all renders, validates, drops ALL, pivots" test_kustomize_overlay
run_test "kustomize overlay chroot renders, validates, sets --mode chroot" test_kustomize_chroot
run_test "kustomize overlay host-users-false renders, validates, runs as the API allows in a user namespace" test_kustomize_host_users_false
run_test "README.md's overlay example renders, validates, renames both images" test_readme_overlay
run_test "the validator rejects broken manifests" test_validator_rejects
run_test "Pod Security: the Namespace admits the pods (privileged, for the peer alone); the OS container alone is baseline" test_pod_security
run_test "Pod Security: the checker finds each baseline and restricted violation of deliberately broken pods" test_pss_checker
run_test "pod.yaml has the StatefulSet's pod shape" test_pod_matches_statefulset
run_test "the OS container's preStop is stint halt, its timeout within the grace period" test_prestop_halt
run_test "the ConfigMap's stint.ini and peer.ini are accepted by the programs" test_ini_files_accepted
