profiles/production.yaml
