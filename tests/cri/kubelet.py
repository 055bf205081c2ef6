#!/usr/bin/python3
"""A kubelet stand-in for tests/cri: drives a CRI runtime (containerd) over
its gRPC socket the way the kubelet does, for one pod read from the
project's manifests.

  kubelet.py -r RUNTIME_SOCK -s STATE run-pod MANIFEST --root DIR
             [--claim NAME=PATH]... [--image OLD=NEW]... [--peer-arg ARG]...
             [--cgroup-root /x] [--pod NAME]
  kubelet.py -r SOCK -s STATE probe               one readiness probe (exit = result)
  kubelet.py -r SOCK -s STATE wait-ready SECS     probe every periodSeconds until ready
  kubelet.py -r SOCK -s STATE stop NAME           StopContainer (grace = the pod's)
  kubelet.py -r SOCK -s STATE remove NAME         RemoveContainer
  kubelet.py -r SOCK -s STATE start NAME          CreateContainer (next attempt) + Start
  kubelet.py -r SOCK -s STATE exec NAME -- CMD... ExecSync; its stdout/stderr and exit code
  kubelet.py -r SOCK -s STATE status NAME         state and exit code of a container
  kubelet.py -r SOCK -s STATE logs NAME           the container's log (CRI format stripped)
  kubelet.py -r SOCK -s STATE delete-pod          stop containers, then sidecars, then the sandbox
  kubelet.py -r SOCK cleanup-all                  remove every sandbox the runtime has

What it does like the kubelet (pkg/kubelet/kuberuntime): the pod-level
security context (host namespaces, privileged sandbox when a container is
privileged, seccomp Unconfined unless the pod asks, a cgroup parent
/kubepods/besteffort/pod<uid>), a pid namespace per container, the default
masked and read-only /proc paths, native sidecars (init containers with
restartPolicy: Always) started before the containers, volumes made on the
"node" as the kubelet makes them (emptyDir medium Memory = tmpfs of its
sizeLimit, ConfigMap in the atomic-writer layout with ..data, the projected
service-account token, the PVC's directory as given, /etc/hosts, the
termination log), readiness by ExecSync of the readinessProbe every
periodSeconds, a container stopped with its preStop exec hook first, then
StopContainer with the rest of the grace period. What it does not do: pull images (they are imported), other
volume types, probes other than exec, resources from requests/limits.
"""
import argparse
import datetime
import json
import os
import re
import secrets
import subprocess
import sys
import time
import uuid

import grpc
import yaml

import cri_pb2 as api
import cri_pb2_grpc as rpc

# kubelet: securitycontext.DefaultProcMountType's paths (pkg/securitycontext/util.go).
MASKED_PATHS = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                "/sys/firmware", "/sys/devices/virtual/powercap"]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
NAMESPACE = "default"
QUANTITY = {"": 1, "k": 1000, "M": 1000**2, "G": 1000**3, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}


def die(msg):
    print(f"kubelet.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def log(msg):
    print(f"kubelet.py: {msg}", file=sys.stderr, flush=True)


def quantity(q):
    m = re.fullmatch(r"(\d+)(|k|M|G|Ki|Mi|Gi)", str(q))
    if not m:
        die(f"quantity {q!r} is not supported here (digits and k, M, G, Ki, Mi, Gi)")
    return int(m.group(1)) * QUANTITY[m.group(2)]


def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        die(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.strip()}")


# ---- the manifest -------------------------------------------------------

def load_pod(path, pod_name):
    """The Pod of a manifest (or a StatefulSet's first pod, named and with
    claims as the controller makes them) plus its ConfigMaps by name."""
    with open(path, encoding="utf-8") as f:
        objs = [o for o in yaml.safe_load_all(f) if o]
    cms = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ConfigMap"}
    pods = []
    for o in objs:
        if o["kind"] == "Pod":
            pods.append(o)
        elif o["kind"] == "StatefulSet":
            name = f"{o['metadata']['name']}-0"
            spec = dict(o["spec"]["template"]["spec"])
            spec["volumes"] = list(spec.get("volumes", [])) + [
                {"name": t["metadata"]["name"],
                 "persistentVolumeClaim": {"claimName": f"{t['metadata']['name']}-{name}"}}
                for t in o["spec"].get("volumeClaimTemplates", [])]
            # The controller sets hostname and subdomain (the governing Service).
            spec.setdefault("hostname", name)
            spec.setdefault("subdomain", o["spec"].get("serviceName"))
            pods.append({"kind": "Pod", "metadata": {"name": name,
                         "labels": o["spec"]["template"]["metadata"].get("labels", {})}, "spec": spec})
    if pod_name:
        pods = [p for p in pods if p["metadata"]["name"] == pod_name]
    if len(pods) != 1:
        die(f"{path}: expected one Pod or StatefulSet{' named ' + pod_name if pod_name else ''}, found {len(pods)}")
    return pods[0], cms


# ---- volumes, as the kubelet makes them ---------------------------------

def atomic_write(dirpath, files, mode=0o644):
    """The kubelet's AtomicWriter layout: the files in a timestamped
    directory, `..data` a symlink to it, each key a symlink through ..data."""
    stamp = "..%s" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y_%m_%d_%H_%M_%S.%f")
    os.makedirs(os.path.join(dirpath, stamp), exist_ok=False)
    for key, data in files.items():
        p = os.path.join(dirpath, stamp, key)
        with open(p, "w", encoding="utf-8") as f:
            f.write(data)
        os.chmod(p, mode)
    os.symlink(stamp, os.path.join(dirpath, "..data_tmp"))
    os.rename(os.path.join(dirpath, "..data_tmp"), os.path.join(dirpath, "..data"))
    for key in files:
        os.symlink(os.path.join("..data", key), os.path.join(dirpath, key))


def mount_tmpfs(path, size=None):
    os.makedirs(path, exist_ok=True)
    opts = "mode=0777" + (f",size={size}" if size else "")
    run("mount", "-t", "tmpfs", "-o", opts, "tmpfs", path)


def make_volumes(pod, cms, poddir, claims, st):
    """Each volume of the pod on the node; returns name -> host path."""
    vols = {}
    for v in pod["spec"].get("volumes", []):
        name = v["name"]
        if "emptyDir" in v:
            d = os.path.join(poddir, "volumes/kubernetes.io~empty-dir", name)
            if v["emptyDir"].get("medium") == "Memory":
                size = v["emptyDir"].get("sizeLimit")
                mount_tmpfs(d, quantity(size) if size else None)
                st["mounts"].append(d)
            else:
                os.makedirs(d, exist_ok=True)
                os.chmod(d, 0o777)
            vols[name] = d
        elif "configMap" in v:
            cm = cms.get(v["configMap"]["name"])
            if cm is None:
                die(f"volume {name}: ConfigMap {v['configMap']['name']} is not in the manifest")
            d = os.path.join(poddir, "volumes/kubernetes.io~configmap", name)
            os.makedirs(d)
            atomic_write(d, cm.get("data", {}), v["configMap"].get("defaultMode", 0o644))
            vols[name] = d
        elif "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"]["claimName"]
            if claim not in claims:
                die(f"volume {name}: no --claim {claim}=PATH given (the PV of claim {claim})")
            vols[name] = claims[claim]
        else:
            die(f"volume {name}: type {sorted(set(v) - {'name'})} is not supported by this kubelet")
    return vols


def make_service_account(poddir, st):
    """The projected kube-api-access volume every container gets unless
    automountServiceAccountToken is false: a tmpfs, atomic-writer layout."""
    d = os.path.join(poddir, "volumes/kubernetes.io~projected/kube-api-access-test")
    mount_tmpfs(d)
    st["mounts"].append(d)
    token = ".".join(secrets.token_urlsafe(24) for _ in range(3))
    atomic_write(d, {"token": token, "namespace": NAMESPACE,
                     "ca.crt": "-----BEGIN CERTIFICATE-----\nnot a real CA\n-----END CERTIFICATE-----\n"})
    return d


def make_etc_hosts(poddir, pod, ip):
    spec = pod["spec"]
    host = spec.get("hostname", pod["metadata"]["name"])
    fqdn = f"{host}.{spec['subdomain']}.{NAMESPACE}.svc.cluster.local\t" if spec.get("subdomain") else ""
    p = os.path.join(poddir, "etc-hosts")
    with open(p, "w", encoding="utf-8") as f:
        f.write("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                f"fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n"
                f"{ip}\t{fqdn}{host}\n")
    return p


# ---- CRI configs ---------------------------------------------------------

def seccomp_of(sc):
    t = (sc or {}).get("seccompProfile", {}).get("type")
    if t == "RuntimeDefault":
        return api.SecurityProfile(profile_type=api.SecurityProfile.RuntimeDefault)
    if t == "Localhost":
        return api.SecurityProfile(profile_type=api.SecurityProfile.Localhost,
                                   localhost_ref=sc["seccompProfile"]["localhostProfile"])
    return None


def all_containers(pod):
    return pod["spec"].get("initContainers", []) + pod["spec"]["containers"]


def sandbox_config(st, pod):
    spec = pod["spec"]
    psc = spec.get("securityContext", {})
    ns = api.NamespaceOption(
        network=api.NODE if spec.get("hostNetwork") else api.POD,
        pid=api.NODE if spec.get("hostPID") else (api.POD if spec.get("shareProcessNamespace") else api.CONTAINER),
        ipc=api.NODE if spec.get("hostIPC") else api.POD)
    sc = api.LinuxSandboxSecurityContext(
        namespace_options=ns,
        privileged=any(c.get("securityContext", {}).get("privileged") for c in all_containers(pod)),
        seccomp=seccomp_of(psc) or api.SecurityProfile(profile_type=api.SecurityProfile.Unconfined))
    if "runAsUser" in psc:
        sc.run_as_user.value = psc["runAsUser"]
    if "runAsGroup" in psc:
        sc.run_as_group.value = psc["runAsGroup"]
    name = pod["metadata"]["name"]
    return api.PodSandboxConfig(
        metadata=api.PodSandboxMetadata(name=name, uid=st["uid"], namespace=NAMESPACE, attempt=st["attempt"]),
        hostname=spec.get("hostname", name),
        log_directory=st["logdir"],
        dns_config=api.DNSConfig(servers=["192.0.2.53"], options=["ndots:5"],
                                 searches=[f"{NAMESPACE}.svc.cluster.local", "svc.cluster.local", "cluster.local"]),
        labels={"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": NAMESPACE,
                "io.kubernetes.pod.uid": st["uid"], **pod["metadata"].get("labels", {})},
        annotations={"kubernetes.io/config.source": "file"},
        linux=api.LinuxPodSandboxConfig(cgroup_parent=st["cgroup_parent"], security_context=sc))


def container_config(st, pod, c, attempt):
    spec = pod["spec"]
    sc = c.get("securityContext", {})
    psc = spec.get("securityContext", {})
    mounts = []
    for m in c.get("volumeMounts", []):
        if m["name"] not in st["volumes"]:
            die(f"container {c['name']}: volumeMount {m['name']} names no volume")
        mounts.append(api.Mount(container_path=m["mountPath"], host_path=st["volumes"][m["name"]],
                                readonly=bool(m.get("readOnly"))))
    if spec.get("automountServiceAccountToken", True):
        mounts.append(api.Mount(container_path=SA_DIR, host_path=st["sa_dir"], readonly=True))
    if not spec.get("hostNetwork"):
        mounts.append(api.Mount(container_path="/etc/hosts", host_path=st["etc_hosts"]))
    # The termination log: a new file per container instance.
    tdir = os.path.join(st["poddir"], "containers", c["name"])
    os.makedirs(tdir, exist_ok=True)
    tlog = os.path.join(tdir, secrets.token_hex(4))
    open(tlog, "w").close()
    os.chmod(tlog, 0o666)
    mounts.append(api.Mount(container_path=c.get("terminationMessagePath", "/dev/termination-log"), host_path=tlog))

    privileged = bool(sc.get("privileged"))
    lsc = api.LinuxContainerSecurityContext(
        privileged=privileged,
        namespace_options=sandbox_config(st, pod).linux.security_context.namespace_options,
        readonly_rootfs=bool(sc.get("readOnlyRootFilesystem")),
        no_new_privs=sc.get("allowPrivilegeEscalation") is False,
        seccomp=seccomp_of(sc) or seccomp_of(psc) or api.SecurityProfile(profile_type=api.SecurityProfile.Unconfined))
    caps = sc.get("capabilities", {})
    lsc.capabilities.add_capabilities.extend(caps.get("add", []))
    lsc.capabilities.drop_capabilities.extend(caps.get("drop", []))
    if not privileged and sc.get("procMount", "Default") == "Default":
        lsc.masked_paths.extend(MASKED_PATHS)
        lsc.readonly_paths.extend(READONLY_PATHS)
    for k, f in (("runAsUser", "run_as_user"), ("runAsGroup", "run_as_group")):
        v = sc.get(k, psc.get(k))
        if v is not None:
            getattr(lsc, f).value = v

    # A BestEffort pod: the kubelet's cpu shares 2 and period, oom_score_adj 1000.
    res = api.LinuxContainerResources(cpu_period=100000, cpu_shares=2, oom_score_adj=1000)

    envs = [api.KeyValue(key=e["name"], value=str(e.get("value", ""))) for e in c.get("env", [])]
    envs += [api.KeyValue(key="KUBERNETES_SERVICE_HOST", value="192.0.2.1"),
             api.KeyValue(key="KUBERNETES_SERVICE_PORT", value="443")]
    name = pod["metadata"]["name"]
    return api.ContainerConfig(
        metadata=api.ContainerMetadata(name=c["name"], attempt=attempt),
        image=api.ImageSpec(image=st["images"].get(c["image"], c["image"])),
        command=c.get("command", []), args=c.get("args", []) + (st["peer_args"] if c["name"] == "stint-peer" else []),
        working_dir=c.get("workingDir", ""), envs=envs, mounts=mounts,
        labels={"io.kubernetes.container.name": c["name"], "io.kubernetes.pod.name": name,
                "io.kubernetes.pod.namespace": NAMESPACE, "io.kubernetes.pod.uid": st["uid"]},
        annotations={"io.kubernetes.container.restartCount": str(attempt),
                     "io.kubernetes.container.terminationMessagePath": "/dev/termination-log"},
        log_path=f"{c['name']}/{attempt}.log",
        stdin=bool(c.get("stdin")), stdin_once=bool(c.get("stdinOnce")), tty=bool(c.get("tty")),
        linux=api.LinuxContainerConfig(resources=res, security_context=lsc))


# ---- the pod's lifecycle -------------------------------------------------

class Kubelet:
    def __init__(self, sock, state_path):
        self.chan = grpc.insecure_channel(f"unix://{sock}")
        self.rt = rpc.RuntimeServiceStub(self.chan)
        self.state_path = state_path
        self.st = None
        if state_path and os.path.exists(state_path):
            with open(state_path, encoding="utf-8") as f:
                self.st = json.load(f)

    def save(self):
        tmp = self.state_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.st, f, indent=1)
        os.rename(tmp, self.state_path)

    def pod(self):
        return load_pod(self.st["manifest"], self.st["pod_name"])

    def spec_of(self, name):
        pod, _ = self.pod()
        for c in all_containers(pod):
            if c["name"] == name:
                return pod, c
        die(f"no container {name} in the pod")

    def run_pod(self, a):
        pod, cms = load_pod(a.manifest, a.pod)
        uid = str(uuid.uuid4())
        poddir = os.path.join(a.root, "pods", uid)
        os.makedirs(poddir)
        self.st = {"manifest": os.path.abspath(a.manifest), "pod_name": pod["metadata"]["name"], "uid": uid,
                   "attempt": 0, "poddir": poddir, "logdir": os.path.join(a.root, "logs", uid), "mounts": [],
                   "cgroup_parent": f"{a.cgroup_root.rstrip('/')}/kubepods/besteffort/pod{uid}",
                   "images": dict(kv.split("=", 1) for kv in a.image), "peer_args": a.peer_arg,
                   "containers": {}, "sandbox": None}
        os.makedirs(self.st["logdir"])
        self.save()  # from here on delete-pod can undo what exists
        claims = dict(kv.split("=", 1) for kv in a.claim)
        self.st["volumes"] = make_volumes(pod, cms, poddir, claims, self.st)
        self.st["sa_dir"] = make_service_account(poddir, self.st)
        self.save()
        t0 = time.monotonic()
        resp = self.rt.RunPodSandbox(api.RunPodSandboxRequest(config=sandbox_config(self.st, pod)))
        self.st["sandbox"] = resp.pod_sandbox_id
        self.save()
        log(f"sandbox {resp.pod_sandbox_id[:12]} ready in {(time.monotonic() - t0) * 1000:.0f} ms")
        # The pod IP: the sandbox's own eth0 (our CNI plugin's address).
        self.st["etc_hosts"] = make_etc_hosts(poddir, pod, a.pod_ip)
        self.save()
        # Init containers in order: a native sidecar (restartPolicy Always)
        # is started and left running; a plain init container would have to
        # finish first (the manifests have none).
        for c in pod["spec"].get("initContainers", []):
            if c.get("restartPolicy") != "Always":
                die(f"init container {c['name']}: only native sidecars are supported here")
            self.start(c["name"])
        for c in pod["spec"]["containers"]:
            self.start(c["name"])

    def start(self, name):
        pod, c = self.spec_of(name)
        prev = self.st["containers"].get(name)
        attempt = prev["attempt"] + 1 if prev else 0
        cfg = container_config(self.st, pod, c, attempt)
        sbc = sandbox_config(self.st, pod)
        t0 = time.monotonic()
        cid = self.rt.CreateContainer(api.CreateContainerRequest(
            pod_sandbox_id=self.st["sandbox"], config=cfg, sandbox_config=sbc)).container_id
        self.st["containers"][name] = {"id": cid, "attempt": attempt}
        self.save()
        self.rt.StartContainer(api.StartContainerRequest(container_id=cid))
        log(f"container {name} attempt {attempt} ({cid[:12]}) started in {(time.monotonic() - t0) * 1000:.0f} ms")

    def cid(self, name):
        if name not in self.st["containers"]:
            die(f"container {name} was never created")
        return self.st["containers"][name]["id"]

    def pre_stop(self, name, c, grace):
        """The container's preStop exec hook, as the kubelet runs it
        (kuberuntime's executePreStopHook): ExecSync within the grace
        period; a failure is logged (an event, FailedPreStopHook) and the
        stop goes on."""
        cmd = (c.get("lifecycle") or {}).get("preStop", {}).get("exec", {}).get("command")
        if not cmd:
            return
        t0 = time.monotonic()
        try:
            r = self.exec(name, cmd, grace)
            out = (r.stdout + r.stderr).decode(errors="replace").strip().replace("\n", " | ")
            log(f"preStop of {name}: {' '.join(cmd)}: exit {r.exit_code} in {(time.monotonic() - t0) * 1000:.0f} ms: {out}")
        except grpc.RpcError as e:
            log(f"preStop of {name}: {' '.join(cmd)}: failed: {e.code().name}: {e.details()}")

    def stop(self, name):
        """The kubelet's killContainer: the preStop hook, then
        StopContainer with what is left of the grace period (at least 2 s,
        the kubelet's minimumGracePeriodInSeconds)."""
        pod, c = self.spec_of(name)
        grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
        t0 = time.monotonic()
        if self.status(name).state == api.CONTAINER_RUNNING:
            self.pre_stop(name, c, grace)
        left = max(2, grace - int(time.monotonic() - t0))
        self.rt.StopContainer(api.StopContainerRequest(container_id=self.cid(name), timeout=left), timeout=left + 30)
        s = self.status(name)
        log(f"container {name} stopped in {(time.monotonic() - t0) * 1000:.0f} ms, exit code {s.exit_code}")
        return s

    def remove(self, name):
        self.rt.RemoveContainer(api.RemoveContainerRequest(container_id=self.cid(name)))

    def status(self, name):
        return self.rt.ContainerStatus(api.ContainerStatusRequest(container_id=self.cid(name))).status

    def exec(self, name, cmd, timeout=10):
        return self.rt.ExecSync(api.ExecSyncRequest(container_id=self.cid(name), cmd=cmd, timeout=timeout),
                                timeout=timeout + 10)

    def probe_spec(self):
        pod, _ = self.pod()
        for c in all_containers(pod):
            p = c.get("readinessProbe")
            if p:
                if "exec" not in p:
                    die(f"container {c['name']}: only exec readiness probes are supported")
                return c["name"], p
        die("no container has a readinessProbe")

    def probe(self):
        """One run of the readiness probe, as the kubelet's prober does it:
        ExecSync with the probe's timeoutSeconds (default 1)."""
        name, p = self.probe_spec()
        r = self.exec(name, p["exec"]["command"], p.get("timeoutSeconds", 1))
        return r.exit_code, (r.stdout + r.stderr).decode(errors="replace").strip()

    def wait_ready(self, secs):
        _, p = self.probe_spec()
        period = p.get("periodSeconds", 10)
        t0 = time.monotonic()
        while True:
            rc, out = self.probe()
            if rc == 0:
                log(f"ready after {(time.monotonic() - t0) * 1000:.0f} ms of probing: {out}")
                return 0
            if time.monotonic() - t0 > secs:
                log(f"not ready after {secs} s: {out}")
                return 1
            time.sleep(period)

    def logs(self, name):
        path = os.path.join(self.st["logdir"], f"{name}/{self.st['containers'][name]['attempt']}.log")
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    # CRI log format: TIMESTAMP STREAM P|F MESSAGE
                    parts = line.rstrip("\n").split(" ", 3)
                    sys.stdout.write(parts[3] if len(parts) == 4 else line)
                    sys.stdout.write("" if len(parts) == 4 and parts[2] == "P" else "\n")
        except FileNotFoundError:
            pass

    def delete_pod(self):
        """The kubelet's pod deletion: containers first, then sidecars in
        reverse order, each with the grace period; then the sandbox; then
        the volumes it made (never the PV)."""
        if self.st.get("sandbox"):
            pod, _ = self.pod()
            sidecars = [c["name"] for c in pod["spec"].get("initContainers", [])]
            order = [c["name"] for c in pod["spec"]["containers"]] + sidecars[::-1]
            for name in order:
                if name in self.st["containers"]:
                    if self.status(name).state == api.CONTAINER_RUNNING:
                        self.stop(name)
                    self.remove(name)
            self.rt.StopPodSandbox(api.StopPodSandboxRequest(pod_sandbox_id=self.st["sandbox"]))
            self.rt.RemovePodSandbox(api.RemovePodSandboxRequest(pod_sandbox_id=self.st["sandbox"]))
            self.st["sandbox"] = None
            self.save()
        for m in reversed(self.st["mounts"]):
            run("umount", m)
        self.st["mounts"] = []
        self.save()
        os.unlink(self.state_path)


def cleanup_all(rt):
    """Every sandbox the runtime knows: stop and remove (exit paths)."""
    n = 0
    for sb in rt.ListPodSandbox(api.ListPodSandboxRequest()).items:
        for c in rt.ListContainers(api.ListContainersRequest(filter=api.ContainerFilter(pod_sandbox_id=sb.id))).containers:
            if c.state == api.CONTAINER_RUNNING:
                rt.StopContainer(api.StopContainerRequest(container_id=c.id, timeout=2), timeout=40)
            rt.RemoveContainer(api.RemoveContainerRequest(container_id=c.id))
        rt.StopPodSandbox(api.StopPodSandboxRequest(pod_sandbox_id=sb.id))
        rt.RemovePodSandbox(api.RemovePodSandboxRequest(pod_sandbox_id=sb.id))
        n += 1
    return n


def main():
    ap = argparse.ArgumentParser(description="a kubelet stand-in over CRI (tests/cri)")
    ap.add_argument("-r", "--runtime", required=True, help="the CRI socket")
    ap.add_argument("-s", "--state", help="this pod's state file (JSON)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run-pod")
    p.add_argument("manifest")
    p.add_argument("--root", required=True, help="the node's kubelet directory (pods, logs)")
    p.add_argument("--pod", help="the Pod (or StatefulSet pod NAME-0) when the file has several")
    p.add_argument("--claim", action="append", default=[], help="CLAIM=PATH: the PV bound to a claim")
    p.add_argument("--image", action="append", default=[], help="OLD=NEW: run NEW where the manifest says OLD")
    p.add_argument("--peer-arg", action="append", default=[], help="appended to the stint-peer command")
    p.add_argument("--cgroup-root", default="/", help="the kubelet's --cgroup-root")
    p.add_argument("--pod-ip", default="192.0.2.10", help="the address the CNI plugin gives eth0")
    sub.add_parser("probe")
    p = sub.add_parser("wait-ready")
    p.add_argument("seconds", type=float)
    for name in ("stop", "remove", "start", "status", "logs"):
        sub.add_parser(name).add_argument("name")
    p = sub.add_parser("exec")
    p.add_argument("name")
    p.add_argument("argv", nargs="+")
    p.add_argument("--timeout", type=int, default=10)
    sub.add_parser("delete-pod")
    sub.add_parser("cleanup-all")
    a = ap.parse_args()

    k = Kubelet(a.runtime, a.state)
    if a.cmd == "cleanup-all":
        print(cleanup_all(k.rt))
        return 0
    if not a.state:
        die("--state is needed")
    if a.cmd == "run-pod":
        if k.st is not None:
            die(f"{a.state} exists: this state file has a pod already")
        k.run_pod(a)
        return 0
    if k.st is None:
        die(f"no pod: {a.state} does not exist")
    if a.cmd == "probe":
        rc, out = k.probe()
        print(out)
        return rc
    if a.cmd == "wait-ready":
        return k.wait_ready(a.seconds)
    if a.cmd == "stop":
        s = k.stop(a.name)
        print(s.exit_code)
        return 0
    if a.cmd == "remove":
        k.remove(a.name)
        return 0
    if a.cmd == "start":
        k.start(a.name)
        return 0
    if a.cmd == "status":
        s = k.status(a.name)
        print(api.ContainerState.Name(s.state), s.exit_code)
        return 0
    if a.cmd == "exec":
        r = k.exec(a.name, a.argv, a.timeout)
        sys.stdout.write(r.stdout.decode(errors="replace"))
        sys.stderr.write(r.stderr.decode(errors="replace"))
        return r.exit_code
    if a.cmd == "logs":
        k.logs(a.name)
        return 0
    if a.cmd == "delete-pod":
        k.delete_pod()
        return 0
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except grpc.RpcError as e:
        print(f"kubelet.py: error: CRI call failed: {e.code().name}: {e.details()}", file=sys.stderr)
        sys.exit(3)
