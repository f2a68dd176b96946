import { inject } from "vitest";

// Point every SDK client built by layers/adapters/aws-clients.ts at the test server.
process.env.AWS_ENDPOINT_URL = inject("awsEndpointUrl");
// SageMaker Runtime goes to the local model server (moto cannot run model containers).
process.env.AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME = inject("modelServerUrl");
process.env.AWS_REGION ??= "us-east-1";
process.env.AWS_ACCESS_KEY_ID ??= "test";
process.env.AWS_SECRET_ACCESS_KEY ??= "test";
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
// Powertools: quiet logs, no metrics namespace warnings in tests.
process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
process.env.POWERTOOLS_METRICS_NAMESPACE ??= "Shaper";
process.env.POWERTOOLS_DEV ??= "false";
