{#- Fails, naming the version, when rows of `model` were reordered by a brief reranker other than the active
    one (int_brief_rerankers_trained): the weights of two rerankers are not comparable, as vectors of two
    encoders are not. Rows no reranker scored (NULL) pass, with or without one active. -#}
{% test semantic_active_brief_reranker(model, column_name) %}

select {{ column_name }} as reranker_version
from {{ model }}
where {{ column_name }} is not null
    and {{ column_name }} not in (
        select reranker_version from {{ ref('int_brief_rerankers_trained') }} where is_active
    )

{% endtest %}
