/**
 * phi-db: the Pulumi program. Composes the components in one direction:
 * config -> keys -> network/database/backups/buckets -> access model -> schema (migrations).
 */
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig } from "./components/config";

const config = parseStackConfig(pulumi.runtime.allConfig(), pulumi.getStack());

export const environment = config.database.environment;
