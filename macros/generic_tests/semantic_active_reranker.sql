{#- Fails, naming both versions, when rows of `model` were scored by a pair reranker other than the
    active one (semantic_check_reranker_version raises): scores of two rerankers are not comparable,
    as vectors of two encoders are not. Rows no reranker scored (NULL) pass, with or without one active. -#}
{% test semantic_active_reranker(model, column_name) %}

select {{ column_name }} as reranker_version
from {{ model }}
where {{ column_name }} is not null
    and not semantic_check_reranker_version({{ column_name }})

{% endtest %}
