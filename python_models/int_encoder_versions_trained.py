"""One row per encoder version (base and tuned); trains a new version only when the labels or the
training config changed since the last one, and activates it (see semantic.encoding.registry)."""


def model(dbt, session):
    dbt.config(materialized="table")
    from semantic.config import active
    from semantic.encoding.registry import Registry, train_from_warehouse
    from semantic.encoding.training import config_from_vars

    # each var checked by name (semantic_train_epochs: 'three' is an error saying so, not a Python traceback);
    # dbt hands a Python model only the config keys its code names literally, so each is spelled out
    config = config_from_vars({
        "loss": dbt.config.get("training_loss"),
        "epochs": dbt.config.get("training_epochs"),
        "learning_rate": dbt.config.get("training_learning_rate"),
        "seed": dbt.config.get("training_seed"),
        "keep_base": dbt.config.get("training_keep_base"),
        "bf16": dbt.config.get("training_bf16"),
        "max_seq_length": dbt.config.get("training_max_seq_length"),
        "augment": dbt.config.get("training_augment"),
        "layer_decay": dbt.config.get("training_layer_decay"),
    })
    enabled = str(dbt.config.get("train_encoder")).lower() == "true"
    return train_from_warehouse(
        dbt.ref("int_training_pairs_labelled").to_arrow_table(),
        enabled=enabled,
        config=config,
        registry=Registry(active().models_dir),
    )
