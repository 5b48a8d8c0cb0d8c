"""Runs Google's AutoML client (google-cloud-automl, v1) against `autovision serve` (issue 22, item 2)
as the AutoML Vision write-up's script calls it: PredictionServiceClient.predict with image bytes and
score_threshold / max_predictions params, batch_predict on a gs:// CSV and its long-running operation,
and AutoMlClient's list_models, get_model, list_model_evaluations and get_model_evaluation. Exit
status 1 on the first failed check.

    python automl_check.py HOST:PORT TOKEN MODEL_ID BUCKET_DIR IMAGE.png
"""
import glob
import os
import sys

from google.api_core.client_options import ClientOptions
from google.cloud import automl_v1
from google.oauth2.credentials import Credentials


def check(condition, what):
    if not condition:
        print(f"automl-check: FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok  {what}", file=sys.stderr)


def main(url, token, model, bucket, image):
    options = ClientOptions(api_endpoint=f"http://{url}")
    credentials = Credentials(token=token)
    prediction = automl_v1.PredictionServiceClient(client_options=options, transport="rest", credentials=credentials)
    name = f"projects/my-project/locations/us-central1/models/{model}"
    response = prediction.predict(name=name, payload={"image": {"image_bytes": open(image, "rb").read()}},
                                  params={"score_threshold": "0.0", "max_predictions": "3"})
    scores = [p.classification.score for p in response.payload]
    check(len(scores) == 3 and scores == sorted(scores, reverse=True), f"predict: three labels ({response.payload[0].display_name} {scores[0]:.3f})")
    response = prediction.predict(name=name, payload={"image": {"image_bytes": open(image, "rb").read()}}, params={"score_threshold": "1.0"})
    check(all(p.classification.score >= 1.0 for p in response.payload), "score_threshold filters the labels")

    operation = prediction.batch_predict(name=name, input_config={"gcs_source": {"input_uris": ["gs://bucket/batch.csv"]}},
                                         output_config={"gcs_destination": {"output_uri_prefix": "gs://bucket/automl-out"}}, params={})
    operation.result(timeout=120)
    outputs = sorted(glob.glob(os.path.join(bucket, "automl-out", f"prediction-{model}-*", "image_classification_1.jsonl")))[-1:]
    rows = sum(1 for line in open(os.path.join(bucket, "batch.csv")) if line.strip())
    check(len(outputs) == 1 and sum(1 for _ in open(outputs[0])) == rows, "batch_predict: its operation finishes with one line per image")

    client = automl_v1.AutoMlClient(client_options=options, transport="rest", credentials=credentials)
    check(name in [m.name for m in client.list_models(parent="projects/my-project/locations/us-central1")], "list_models")
    got = client.get_model(name=name)
    check(got.deployment_state == automl_v1.Model.DeploymentState.DEPLOYED and got.image_classification_model_metadata.node_count == 1,
          "get_model: deployed, with its image classification metadata")
    evaluations = list(client.list_model_evaluations(parent=name, filter=""))
    overall = [e for e in evaluations if not e.annotation_spec_id]
    check(len(overall) == 1 and len(evaluations) == 11, "list_model_evaluations: the overall one and one per label")
    metrics = overall[0].classification_evaluation_metrics
    check(0 < metrics.au_prc <= 1 and len(metrics.confidence_metrics_entry) == 101 and len(metrics.confusion_matrix.row) == 10,
          "classification metrics: auPrc, 101 confidence entries, the confusion matrix")
    label = client.get_model_evaluation(name=evaluations[1].name)
    check(label.display_name and label.evaluated_example_count > 0, f"get_model_evaluation of label {label.display_name}")


if __name__ == "__main__":
    main(*sys.argv[1:6])
