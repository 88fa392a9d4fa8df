/**
 * The phi-db HIPAA policy pack. The policies themselves are in ./policies (plain objects, tested
 * one by one); this file only registers them. Enforcement comes from the pack configuration:
 * mandatory by default and with policy/prod.json, advisory with policy/dev.json.
 */
import { PolicyPack } from "@pulumi/policy";
import { packArgs } from "./pack";

new PolicyPack("phi-db-hipaa", packArgs);
