/** Arguments of the phi-db-hipaa PolicyPack (apart from index.ts, which starts the analyzer server). */
import type { PolicyPackArgs } from "@pulumi/policy";
import { policies } from "./policies";

export const packArgs: PolicyPackArgs = {
  displayName: "phi-db HIPAA guardrails",
  description: "RDS, KMS, Secrets Manager, S3, CloudWatch Logs and AWS Backup settings a HIPAA workload needs, and no pending migration with a blocking lint error.",
  provider: "aws",
  tags: ["hipaa", "aws", "rds", "postgresql"],
  // Strict unless the pack configuration says otherwise (policy/dev.json sets all to advisory).
  enforcementLevel: "mandatory",
  // `info` is ours (README table, report); the SDK does not need it.
  policies: policies.map(({ info: _info, ...policy }) => policy),
};
