/**
 * The build checks polyarch runs, named as BuildKit names them so that `# check=skip=NAME` directives and
 * CI filters written for `docker build --check` keep working. Each links to Docker's page for the rule.
 */
export interface LintRule {
  name: string;
  description: string;
  url: string;
}

function rule(name: string, description: string, slug: string): LintRule {
  return { name, description, url: `https://docs.docker.com/go/dockerfile/rule/${slug}/` };
}

export const rules = {
  StageNameCasing: rule("StageNameCasing", "Stage names should be lowercase", "stage-name-casing"),
  FromAsCasing: rule(
    "FromAsCasing",
    "The 'as' keyword should match the case of the 'from' keyword",
    "from-as-casing",
  ),
  NoEmptyContinuation: rule(
    "NoEmptyContinuation",
    "Empty continuation lines will become errors in a future release",
    "no-empty-continuation",
  ),
  ConsistentInstructionCasing: rule(
    "ConsistentInstructionCasing",
    "All commands within the Dockerfile should use the same casing (either upper or lower)",
    "consistent-instruction-casing",
  ),
  DuplicateStageName: rule("DuplicateStageName", "Stage names should be unique", "duplicate-stage-name"),
  ReservedStageName: rule(
    "ReservedStageName",
    "Reserved words should not be used as stage names",
    "reserved-stage-name",
  ),
  JSONArgsRecommended: rule(
    "JSONArgsRecommended",
    "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals",
    "json-args-recommended",
  ),
  MaintainerDeprecated: rule(
    "MaintainerDeprecated",
    "The MAINTAINER instruction is deprecated, use a label instead to define an image author",
    "maintainer-deprecated",
  ),
  UndefinedArgInFrom: rule(
    "UndefinedArgInFrom",
    "FROM command must use declared ARGs",
    "undefined-arg-in-from",
  ),
  WorkdirRelativePath: rule(
    "WorkdirRelativePath",
    "Relative workdir without an absolute workdir declared within the build can have unexpected results if the base image changes",
    "workdir-relative-path",
  ),
  UndefinedVar: rule("UndefinedVar", "Variables should be defined before their use", "undefined-var"),
  MultipleInstructionsDisallowed: rule(
    "MultipleInstructionsDisallowed",
    "Multiple instructions of the same type should not be used in the same stage",
    "multiple-instructions-disallowed",
  ),
  LegacyKeyValueFormat: rule(
    "LegacyKeyValueFormat",
    "Legacy key/value format with whitespace separator should not be used",
    "legacy-key-value-format",
  ),
  RedundantTargetPlatform: rule(
    "RedundantTargetPlatform",
    "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior",
    "redundant-target-platform",
  ),
  SecretsUsedInArgOrEnv: rule(
    "SecretsUsedInArgOrEnv",
    "Sensitive data should not be used in the ARG or ENV commands",
    "secrets-used-in-arg-or-env",
  ),
  InvalidDefaultArgInFrom: rule(
    "InvalidDefaultArgInFrom",
    "Default value for global ARG results in an empty or invalid base image name",
    "invalid-default-arg-in-from",
  ),
  FromPlatformFlagConstDisallowed: rule(
    "FromPlatformFlagConstDisallowed",
    "FROM --platform flag should not use a constant value",
    "from-platform-flag-const-disallowed",
  ),
  InvalidDefinitionDescription: rule(
    "InvalidDefinitionDescription",
    "Comment for build stage or argument should follow the format: `# <arg/stage name> <description>`. If this is not intended to be a description comment, add an empty line or comment between the instruction and the comment.",
    "invalid-definition-description",
  ),
  ExposeProtoCasing: rule(
    "ExposeProtoCasing",
    "Protocol in EXPOSE instruction should be lowercase",
    "expose-proto-casing",
  ),
  ExposeInvalidFormat: rule(
    "ExposeInvalidFormat",
    "IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error in a future release",
    "expose-invalid-format",
  ),
  InvalidBaseImagePlatform: {
    name: "InvalidBaseImagePlatform",
    description: "Base image platform does not match expected target platform",
    url: "https://docs.docker.com/go/dockerfile/rule/invalid-base-image-platform/",
  },
  CopyIgnoredFile: rule(
    "CopyIgnoredFile",
    "Attempting to Copy file that is excluded by .dockerignore",
    "copy-ignored-file",
  ),
  // polyarch's own (build-inputs.ts): what the command line must give for the steps to run as written.
  SshNotForwarded: {
    name: "SshNotForwarded",
    description: "RUN --mount=type=ssh without an ssh agent forwarded by --ssh",
    url: "https://docs.docker.com/reference/cli/docker/buildx/build/#ssh",
  },
  SecretNotProvided: {
    name: "SecretNotProvided",
    description: "RUN --mount=type=secret of a secret no --secret provides",
    url: "https://docs.docker.com/reference/cli/docker/buildx/build/#secret",
  },
  EntitlementNotGranted: {
    name: "EntitlementNotGranted",
    description: "RUN --network=host or --security=insecure without the --allow entitlement",
    url: "https://docs.docker.com/reference/cli/docker/buildx/build/#allow",
  },
} as const satisfies Record<string, LintRule>;

/** Rules BuildKit runs only when `# check=experimental=NAME` (or `experimental=all`) asks for them. */
export const experimentalRules: ReadonlySet<string> = new Set([
  "InvalidDefinitionDescription",
  "CopyIgnoredFile",
]);

export type RuleName = keyof typeof rules;
