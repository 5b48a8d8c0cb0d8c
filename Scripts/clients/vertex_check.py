"""Runs Google's Vertex AI SDK (google-cloud-aiplatform) against `autovision serve` (issue 22, item 1),
unchanged but for `aiplatform.init(api_endpoint=..., api_transport="rest")` and a bearer token: an
image dataset created from a gs:// CSV, an AutoML image training job with a budget in milli-node-hours,
the model's evaluation and per-label slices, deploy → predict → undeploy, a batch prediction, list /
get / delete of every resource kind, and Google's error for an unknown model; then the multi-label flow
(issue 24): a dataset from a multi-label CSV, `AutoMLImageTrainingJob(multi_label=True)`, its evaluation
and slices, and predictions over the per-label thresholds; then both models on one endpoint with a
traffic split (deploy with traffic_percentage, update, undeploy). Prints the single-label model's ID as its last
line. Exit status 1 on the first failed check.

    python vertex_check.py HOST:PORT TOKEN BUCKET_DIR IMAGE.png
      (the server runs with --map gs://bucket=BUCKET_DIR; BUCKET_DIR/vertex.csv is the dataset,
       BUCKET_DIR/batch.jsonl the batch's instances, BUCKET_DIR/pairs.csv a multi-label dataset whose
       images are under BUCKET_DIR/pairs)
"""
import base64
import json
import os
import sys

from google.api_core import exceptions
from google.cloud import aiplatform
from google.oauth2.credentials import Credentials


def check(condition, what):
    if not condition:
        print(f"vertex-check: FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok  {what}", file=sys.stderr)


def main(url, token, bucket, image):
    aiplatform.init(project="my-project", location="us-central1", api_endpoint=f"http://{url}", api_transport="rest",
                    credentials=Credentials(token=token))
    dataset = aiplatform.ImageDataset.create(
        display_name="fashion-slice", gcs_source=["gs://bucket/vertex.csv"],
        import_schema_uri=aiplatform.schema.dataset.ioformat.image.single_label_classification)
    check(dataset.display_name == "fashion-slice", "ImageDataset.create imports the CSV and waits for the operation")

    job = aiplatform.AutoMLImageTrainingJob(display_name="fashion-job", prediction_type="classification")
    model = job.run(dataset=dataset, budget_milli_node_hours=3, model_display_name="fashion-model")
    check(job.state.name == "PIPELINE_STATE_SUCCEEDED", f"AutoMLImageTrainingJob.run succeeded ({job.state.name})")
    check(model.display_name == "fashion-model", "the pipeline's model has the display name asked for")

    evaluations = model.list_model_evaluations()
    check(len(evaluations) == 1, "one model evaluation (TEST)")
    evaluation = model.get_model_evaluation()
    metrics = evaluation.metrics
    check(0 <= metrics["auPrc"] <= 1 and 0 <= metrics["auRoc"] <= 1 and metrics["logLoss"] > 0, "auPrc, auRoc and logLoss")
    thresholds = [round(entry["confidenceThreshold"], 2) for entry in metrics["confidenceMetrics"]]
    check(thresholds == [i / 100 for i in range(101)], "confidenceMetrics at thresholds 0.00 to 1.00 in steps of 0.01")
    matrix = metrics["confusionMatrix"]
    labels = [spec["displayName"] for spec in matrix["annotationSpecs"]]
    check(len(labels) == 10 and len(matrix["rows"]) == 10 and sum(map(sum, matrix["rows"])) > 0, "a 10 x 10 confusion matrix with annotationSpecs")
    slices = list(evaluation.api_client.select_version("v1").list_model_evaluation_slices(parent=evaluation.resource_name))
    check(sorted(s.slice_.value for s in slices) == sorted(labels), "one evaluation slice per label")

    endpoint = model.deploy()
    check([m.model.split("/")[-1].split("@")[0] for m in endpoint.list_models()] == [model.name], "model.deploy() deploys to a new endpoint")
    content = base64.b64encode(open(image, "rb").read()).decode()
    prediction = endpoint.predict(instances=[{"content": content}], parameters={"confidenceThreshold": 0.0, "maxPredictions": 3})
    answer = prediction.predictions[0]
    check(len(answer["displayNames"]) == 3 and answer["confidences"] == sorted(answer["confidences"], reverse=True),
          f"endpoint.predict: three labels, highest first ({answer['displayNames'][0]} {answer['confidences'][0]:.3f})")
    # The default confidenceThreshold (0.5) may leave no label for a model trained 11 s: ask for the top one.
    own = aiplatform.Endpoint(model.name).predict(instances=[{"content": content}], parameters={"confidenceThreshold": 0.0, "maxPredictions": 1})
    check(own.predictions[0]["displayNames"][0] == answer["displayNames"][0], "the model's own endpoint answers without a deploy")
    endpoint.undeploy_all()
    check(endpoint.list_models() == [], "endpoint.undeploy_all()")

    batch = model.batch_predict(job_display_name="fashion-batch", gcs_source="gs://bucket/batch.jsonl",
                                gcs_destination_prefix="gs://bucket/batch-out", sync=True)
    check(batch.state.name == "JOB_STATE_SUCCEEDED", f"model.batch_predict succeeded ({batch.state.name})")
    folder = batch.output_info.gcs_output_directory.replace("gs://bucket", bucket, 1)
    lines = [json.loads(line) for line in open(os.path.join(folder, "predictions_00001.jsonl"))]
    instances = [json.loads(line) for line in open(os.path.join(bucket, "batch.jsonl"))]
    check([line["instance"] for line in lines] == instances and all("prediction" in line for line in lines),
          f"one prediction line per instance ({len(lines)})")

    check(dataset.resource_name in [d.resource_name for d in aiplatform.ImageDataset.list()], "ImageDataset.list")
    check(model.resource_name in [m.resource_name for m in aiplatform.Model.list()], "Model.list")
    check(endpoint.resource_name in [e.resource_name for e in aiplatform.Endpoint.list()], "Endpoint.list")
    check(job.resource_name in [j.resource_name for j in aiplatform.AutoMLImageTrainingJob.list()], "AutoMLImageTrainingJob.list")
    check(aiplatform.Model(model.resource_name).display_name == "fashion-model", "Model get")
    endpoint.delete()
    check(endpoint.resource_name not in [e.resource_name for e in aiplatform.Endpoint.list()], "Endpoint.delete")
    empty = aiplatform.ImageDataset.create(display_name="empty")
    empty.delete()
    check(empty.resource_name not in [d.resource_name for d in aiplatform.ImageDataset.list()], "an empty dataset is created and deleted")
    try:
        aiplatform.Model("no-such-model")
        check(False, "an unknown model raises NotFound")
    except exceptions.NotFound as error:
        check("no model" in error.message, "an unknown model raises NotFound with Google's error body")
    multi_label(bucket, model, content)
    print(model.name)


def multi_label(bucket, single, single_content):
    dataset = aiplatform.ImageDataset.create(
        display_name="pairs", gcs_source=["gs://bucket/pairs.csv"],
        import_schema_uri=aiplatform.schema.dataset.ioformat.image.multi_label_classification)
    job = aiplatform.AutoMLImageTrainingJob(display_name="pairs-job", prediction_type="classification", multi_label=True)
    model = job.run(dataset=dataset, budget_milli_node_hours=3, model_display_name="pairs-model")
    check(job.state.name == "PIPELINE_STATE_SUCCEEDED", f"multi-label: AutoMLImageTrainingJob(multi_label=True).run succeeded ({job.state.name})")
    evaluation = model.get_model_evaluation()
    metrics = evaluation.metrics
    check(0 <= metrics["auPrc"] <= 1 and 0 <= metrics["auRoc"] <= 1 and len(metrics["confidenceMetrics"]) == 101,
          f"multi-label: auPrc (mean AP {metrics['auPrc']:.3f}), auRoc and 101 confidenceMetrics")
    check("confusionMatrix" not in metrics, "multi-label: no confusion matrix, as Vertex AI's multi-label evaluations")
    slices = list(evaluation.api_client.select_version("v1").list_model_evaluation_slices(parent=evaluation.resource_name))
    labels = sorted(s.slice_.value for s in slices)
    check(labels == ["bag", "sneaker", "trouser", "tshirt"], f"multi-label: one evaluation slice per label ({labels})")
    first = next(row for row in open(os.path.join(bucket, "pairs", "manifest.csv")) if row.startswith("TEST,"))
    content = base64.b64encode(open(os.path.join(bucket, "pairs", first.strip().split(",")[1]), "rb").read()).decode()
    endpoint = aiplatform.Endpoint(model.name)
    answer = endpoint.predict(instances=[{"content": content}]).predictions[0]
    check(set(answer["displayNames"]) <= set(labels) and answer["confidences"] == sorted(answer["confidences"], reverse=True),
          f"multi-label: endpoint.predict lists the labels over their thresholds ({answer['displayNames']}, truth {first.strip().split(',')[2:]})")
    every = endpoint.predict(instances=[{"content": content}], parameters={"confidenceThreshold": 0.0}).predictions[0]
    check(sorted(every["displayNames"]) == labels, "multi-label: confidenceThreshold 0 lists every label")
    traffic_split(single, model, single_content)
    model.delete()
    dataset.delete()


def traffic_split(first, second, content):
    """Both models on one endpoint: predictions follow its traffic split, which deploy, update and
    undeploy set as Vertex AI does; a split that breaks the rules gets Google's INVALID_ARGUMENT."""
    endpoint = aiplatform.Endpoint.create(display_name="canary")
    first.deploy(endpoint=endpoint)
    second.deploy(endpoint=endpoint, traffic_percentage=30)
    check(endpoint.traffic_split == {first.name: 70, second.name: 30},
          f"model.deploy(traffic_percentage=30) splits the traffic 70/30 ({dict(endpoint.traffic_split)})")
    answered = [endpoint.predict(instances=[{"content": content}]).deployed_model_id for _ in range(60)]
    counts = {name: answered.count(name) for name in (first.name, second.name)}
    # 60 draws at 30 %: each model answers at least once but with odds under 1e-9.
    check(sum(counts.values()) == 60 and min(counts.values()) > 0, f"predictions go to both deployed models ({counts})")
    endpoint.update(traffic_split={second.name: 100})
    check(endpoint.traffic_split == {second.name: 100}, f"endpoint.update(traffic_split=...) ({dict(endpoint.traffic_split)})")
    answered = {endpoint.predict(instances=[{"content": content}]).deployed_model_id for _ in range(20)}
    check(answered == {second.name}, f"after the update every prediction goes to the model with all the traffic ({answered})")
    try:
        endpoint.api_client.undeploy_model(endpoint=endpoint.resource_name, deployed_model_id=second.name).result()
        check(False, "undeploying the model with all the traffic while another stays is refused")
    except exceptions.BadRequest as error:
        check("send a trafficSplit" in error.message, "undeploying a model with traffic, without a new split, raises BadRequest")
    endpoint.undeploy(first.name)
    check([m.id for m in endpoint.list_models()] == [second.name], "endpoint.undeploy of the model without traffic")
    endpoint.undeploy_all()
    check(endpoint.list_models() == [] and endpoint.traffic_split == {}, "endpoint.undeploy_all() leaves no model and no split")
    endpoint.delete()


if __name__ == "__main__":
    main(*sys.argv[1:5])
