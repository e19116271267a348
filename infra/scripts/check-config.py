#!/usr/bin/env python3
"""Checks that the deployment files parse: YAML (with CloudFormation's short
tags such as !Ref and !Sub) and TOML. Exits non-zero naming the file and the
error. Full template linting (cfn-lint, sam validate) arrives with the AWS
issue."""
import sys
import tomllib

import yaml


class CfnLoader(yaml.SafeLoader):
    """A safe loader that accepts CloudFormation's intrinsic-function tags."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node)}
    return {suffix: loader.construct_mapping(node)}


CfnLoader.add_multi_constructor("!", _tag)


def main(paths):
    failed = False
    for path in paths:
        try:
            with open(path, "rb") as f:
                if path.endswith(".toml"):
                    tomllib.load(f)
                else:
                    doc = yaml.load(f, Loader=CfnLoader)
                    if not isinstance(doc, dict) or "Resources" not in doc:
                        raise ValueError("not a CloudFormation template: no Resources")
            print(f"check-config: {path}: ok")
        except Exception as e:  # report every file, then fail
            print(f"check-config: {path}: {e}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
