/**
 * Validates rendered objects against the Kubernetes API schemas (kubernetes-models, the
 * OpenAPI of the Kubernetes API compiled to validators) and the Prometheus Operator's CRD
 * schemas. kubectl cannot do this here: even `--dry-run=client` asks an API server for
 * its resource list, and there is no cluster.
 */

import * as monitoring from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import * as apps from "kubernetes-models/apps/v1";
import * as autoscaling from "kubernetes-models/autoscaling/v2";
import * as batch from "kubernetes-models/batch/v1";
import * as networking from "kubernetes-models/networking.k8s.io/v1";
import * as policy from "kubernetes-models/policy/v1";
import * as core from "kubernetes-models/v1";
import type { K8sObject } from "./chart.js";

type Model = new (data: never) => { validate(): void };

const models: Record<string, Record<string, unknown>> = {
  v1: core,
  "apps/v1": apps,
  "autoscaling/v2": autoscaling,
  "batch/v1": batch,
  "networking.k8s.io/v1": networking,
  "policy/v1": policy,
  "monitoring.coreos.com/v1": monitoring,
};

/** The schema errors of one object, or undefined when it is valid. */
export function schemaErrors(object: K8sObject): string | undefined {
  const model = models[object.apiVersion]?.[object.kind] as Model | undefined;
  if (!model) return `no schema for ${object.apiVersion} ${object.kind}`;
  try {
    new model(object as never).validate();
    return undefined;
  } catch (err) {
    return `${object.kind}/${object.metadata.name}: ${err instanceof Error ? err.message : String(err)}`;
  }
}
