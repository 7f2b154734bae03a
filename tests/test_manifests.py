"""deploy/: every Kubernetes manifest validated with kubernetes-validate in strict mode (unknown
fields are errors), and checked against the service it runs (probe paths, port, user, sizing).

KServe's InferenceService is a custom resource whose schema kubernetes-validate does not bundle:
its predictor's pod part is validated as a PodSpec, the KServe part is checked field by field.
"""
import copy
import re
import runpy

import pytest
import yaml
from kubernetes_validate import utils as k8s

from harness import ROOT

KUBERNETES_VERSIONS = ["1.29.0", "1.37.0"]  # an old still-supported release and the newest
DEPLOY = ROOT / "deploy"
# Measured on the real server (README, "Scaling out"): RSS of one LiteRT worker with the model,
# at rest and at its worst-case peak (an 8 MB V2 JSON body of empty lists: 369 MiB; a 4000x4000
# float TIFF: 346), and of the gunicorn master; the front (serve.py and nginx) adds 27 MiB
# (docs/performance.md, with nginx in front: 249 against 222 MiB for the whole server).
WORKER_RSS_MIB, WORKER_PEAK_RSS_MIB, ARBITER_RSS_MIB, FRONT_RSS_MIB = 95, 370, 41, 27
# KServe's own predictor fields (ComponentExtensionSpec); the rest of a predictor is a PodSpec.
KSERVE_PREDICTOR_FIELDS = {"minReplicas", "maxReplicas", "scaleTarget", "scaleMetric",
                           "containerConcurrency", "timeout", "canaryTrafficPercent", "logger",
                           "batcher", "labels", "annotations", "deploymentStrategy"}
MIB = {"Mi": 1, "Gi": 1024}


def resources(name):
    return list(yaml.safe_load_all((DEPLOY / name).read_text()))


def by_kind(kind):
    return next(doc for doc in resources("max-mnist.yaml") if doc["kind"] == kind)


def inference_service():
    (service,) = resources("kserve-inferenceservice.yaml")
    return service


def mebibytes(quantity):
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()
    return int(number) * MIB[unit]


def pod_specs():
    """(where, pod spec) for the Deployment's pods and the InferenceService's predictor."""
    predictor = inference_service()["spec"]["predictor"]
    return [("deployment", by_kind("Deployment")["spec"]["template"]["spec"]),
            ("inferenceservice", {k: v for k, v in predictor.items()
                                  if k not in KSERVE_PREDICTOR_FIELDS})]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("kind", ["Deployment", "Service", "HorizontalPodAutoscaler",
                                  "PodDisruptionBudget"])
def test_manifest_is_valid_kubernetes_in_strict_mode(kind, version):
    k8s.validate(by_kind(kind), version, strict=True)


def test_strict_mode_catches_a_misspelt_field():
    broken = copy.deepcopy(by_kind("Deployment"))
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(k8s.ValidationError):
        k8s.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_inference_service_predictor_is_a_valid_pod_spec(version):
    with pytest.raises(k8s.SchemaNotFoundError):  # a CRD: no bundled schema to check against
        k8s.validate(inference_service(), version, strict=True)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "mnist-predictor"},
           "spec": dict(pod_specs())["inferenceservice"]}
    k8s.validate(pod, version, strict=True)


def test_inference_service_is_a_v2_custom_predictor_for_mnist():
    service = inference_service()
    assert service["apiVersion"] == "serving.kserve.io/v1beta1"
    assert service["kind"] == "InferenceService"
    assert service["metadata"]["name"] == "mnist"  # the model name in /v2/models/mnist/...
    predictor = service["spec"]["predictor"]
    assert set(predictor) - KSERVE_PREDICTOR_FIELDS == {"securityContext", "containers",
                                                        "volumes", "terminationGracePeriodSeconds"}
    assert isinstance(predictor["minReplicas"], int) and isinstance(predictor["maxReplicas"], int)
    assert predictor["scaleMetric"] == "cpu" and 0 < predictor["scaleTarget"] <= 100
    (container,) = predictor["containers"]
    assert container["name"] == "kserve-container"
    env = {item["name"]: item["value"] for item in container["env"]}
    assert [port["containerPort"] for port in container["ports"]] == [int(env["PORT"])]


@pytest.mark.parametrize("spec", [pytest.param(spec, id=where) for where, spec in pod_specs()])
def test_probes_hit_the_health_endpoints_and_they_answer(client, spec):
    (container,) = spec["containers"]
    paths = {probe: container[probe]["httpGet"]["path"]
             for probe in ("startupProbe", "readinessProbe", "livenessProbe") if probe in container}
    assert paths["readinessProbe"] == "/v2/health/ready"
    assert paths["livenessProbe"] == "/v2/health/live"
    for path in paths.values():
        assert client.get(path).status_code == 200


@pytest.mark.parametrize("spec", [pytest.param(spec, id=where) for where, spec in pod_specs()])
def test_pods_run_as_the_images_non_root_user_on_a_read_only_root(spec):
    image_user = re.search(r"^USER (\d+)$", (ROOT / "Dockerfile").read_text(), re.M).group(1)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == int(image_user)
    (container,) = spec["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]  # the one writable place
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")


@pytest.mark.parametrize("spec", [pytest.param(spec, id=where) for where, spec in pod_specs()])
def test_memory_is_sized_from_the_measured_worker_rss(spec):
    (container,) = spec["containers"]
    workers = int({item["name"]: item["value"] for item in container["env"]}["WORKERS"])
    requests, limits = container["resources"]["requests"], container["resources"]["limits"]
    fixed = ARBITER_RSS_MIB + FRONT_RSS_MIB
    assert mebibytes(requests["memory"]) >= fixed + workers * WORKER_RSS_MIB
    assert mebibytes(limits["memory"]) >= fixed + workers * WORKER_PEAK_RSS_MIB
    assert "cpu" in requests  # the HPA's utilisation is relative to the CPU request


def test_service_and_autoscaler_point_at_the_deployment():
    deployment, service = by_kind("Deployment"), by_kind("Service")
    hpa, budget = by_kind("HorizontalPodAutoscaler"), by_kind("PodDisruptionBudget")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert service["spec"]["ports"][0]["targetPort"] in [p["name"] for p in container["ports"]]
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    replicas = deployment["spec"]["replicas"]
    assert hpa["spec"]["minReplicas"] <= replicas <= hpa["spec"]["maxReplicas"]


@pytest.mark.parametrize("spec", [pytest.param(spec, id=where) for where, spec in pod_specs()])
def test_the_grace_period_covers_the_prestop_pause_and_the_drain(spec):
    """After preStop, SIGTERM drains: nginx gets at most WORKER_TIMEOUT (its
    worker_shutdown_timeout), then gunicorn at most its graceful_timeout; all of that must end
    before the kubelet kills the pod."""
    (container,) = spec["containers"]
    *sleep, pause = container["lifecycle"]["preStop"]["exec"]["command"]
    assert sleep == ["sleep"]
    env = {item["name"]: item["value"] for item in container["env"]}
    gunicorn = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    drain = int(env.get("WORKER_TIMEOUT", gunicorn["timeout"])) + gunicorn["graceful_timeout"]
    assert spec["terminationGracePeriodSeconds"] >= int(pause) + drain
    for probe in ("readinessProbe", "livenessProbe"):  # nginx answers them: no queueing
        assert container[probe]["timeoutSeconds"] == 1
