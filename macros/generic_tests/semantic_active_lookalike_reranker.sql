{#- Fails, naming the version, when rows of `model` were decided with a lookalike reranker other than the active
    one (int_lookalike_rerankers_trained): its clearing probability was chosen for its own scores, as a threshold
    is chosen for one encoder's. Rows no reranker scored (NULL) pass, with or without one active. -#}
{% test semantic_active_lookalike_reranker(model, column_name) %}

select {{ column_name }} as reranker_version
from {{ model }}
where {{ column_name }} is not null
    and {{ column_name }} not in (
        select reranker_version from {{ ref('int_lookalike_rerankers_trained') }} where is_active
    )

{% endtest %}
