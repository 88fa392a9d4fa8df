/** The ConfigError `f` throws (fails the test when it throws nothing, or something else). */
import { ConfigError } from "../../components/config";

export function configError(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected a ConfigError, nothing was thrown");
}
