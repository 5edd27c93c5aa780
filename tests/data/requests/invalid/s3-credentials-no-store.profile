profiles/no-secret-store.yaml
