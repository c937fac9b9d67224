"""Review titles and comments in Portuguese.

Comments are assembled from short sentences so that they carry what the real ones do:
accents, commas, double quotes, comments starting with a digit, shouting in capitals,
trailing blanks and CRLF line breaks inside the field (the loader must keep those
inside one CSV value).
"""

from __future__ import annotations

from random import Random

POSITIVE_TITLES: tuple[str, ...] = (
    "Recomendo",
    "recomendo",
    "Super recomendo",
    "Ótimo",
    "Otimo",
    "Excelente",
    "Excelente ",
    "Muito bom",
    "Muito bom!",
    "Bom",
    "Adorei",
    "Nota 10",
    "10",
    "Perfeito",
    "Satisfeita",
    "Chegou rápido",
    "Ótimo produto",
    "Tudo certo",
)
NEUTRAL_TITLES: tuple[str, ...] = (
    "Bom",
    "Regular",
    "ok",
    "Ok",
    "Razoável",
    "Poderia ser melhor",
    "Mais ou menos",
    "7",
)
NEGATIVE_TITLES: tuple[str, ...] = (
    "Não recebi o produto",
    "Produto não entregue",
    "Péssimo",
    "Péssimo ",
    "Ruim",
    "Atraso na entrega",
    "Produto errado",
    "Não recomendo",
    "não recomendo",
    "Decepcionado",
    "Veio com defeito",
    "Zero",
)

POSITIVE_SENTENCES: tuple[str, ...] = (
    "Produto chegou antes do prazo, muito bem embalado.",
    "Recomendo a loja, entrega rápida e produto de ótima qualidade.",
    "Tudo certo, chegou direitinho.",
    "Amei o produto!",
    "Excelente atendimento, voltarei a comprar.",
    "Produto conforme o anúncio.",
    "Chegou rápido, estou muito satisfeita.",
    "Ótimo custo-benefício.",
    "Bem embalado e dentro do prazo.",
    "Superou minhas expectativas, obrigado!",
    "Muito bom, porém a caixa veio um pouco amassada.",
    "Meu filho adorou o presente.",
    "Qualidade excelente, igual à foto.",
    "Entrega super rápida, parabéns à equipe.",
    "Comprei para minha mãe e ela gostou muito.",
    "Produto original, lacrado, nota fiscal ok.",
    "Já é a segunda vez que compro e não me decepcionei.",
    "2 dias para chegar, muito rápido!",
)
NEUTRAL_SENTENCES: tuple[str, ...] = (
    "Produto ok, mas a entrega demorou um pouco.",
    "Razoável, esperava mais pelo preço.",
    "A cor é diferente da foto, mas serve.",
    "Chegou faltando o manual, de resto tudo bem.",
    "O tamanho é menor do que eu imaginava.",
    "Funciona, mas o acabamento deixa a desejar.",
    'Veio escrito "importado" na caixa, não sei se é original.',
    "Entregaram na casa do vizinho, mas recebi.",
)
NEGATIVE_SENTENCES: tuple[str, ...] = (
    "Ainda não recebi o produto.",
    "Produto não entregue até agora, já passou do prazo.",
    "Veio com defeito, quero a troca.",
    "Comprei 2 unidades e recebi apenas 1.",
    "Péssimo atendimento, ninguém responde os e-mails.",
    "O produto chegou quebrado, não recomendo.",
    "10 dias de atraso e nenhuma explicação.",
    "Recebi um produto diferente do que comprei.",
    "Cancelaram meu pedido sem aviso, estou aguardando o reembolso.",
    "Paguei o frete mais caro e mesmo assim atrasou.",
    'A loja diz "entregue" no rastreio, mas não chegou nada aqui.',
    "Já paguei a primeira parcela do cartão e nada do produto.",
    "Não comprem nessa loja!",
)


def title(rng: Random, score: int) -> str:
    if score >= 4:
        return rng.choice(POSITIVE_TITLES)
    if score == 3:
        return rng.choice(NEUTRAL_TITLES)
    return rng.choice(NEGATIVE_TITLES)


def comment(rng: Random, score: int) -> str:
    """One to three sentences; about one comment in eight spans several lines."""
    if score >= 4:
        bank = POSITIVE_SENTENCES
    elif score == 3:
        bank = NEUTRAL_SENTENCES
    else:
        bank = NEGATIVE_SENTENCES
    count = 1 if rng.random() < 0.6 else rng.choice((2, 2, 3))
    sentences = [rng.choice(bank) for _ in range(count)]
    separator = "\r\n" if count > 1 and rng.random() < 0.35 else " "
    text = separator.join(sentences)
    if count == 1 and rng.random() < 0.04:
        text += "\r\n"  # real comments sometimes end with a line break
    roll = rng.random()
    if roll < 0.04:
        text = text.upper()
    elif roll < 0.12:
        text += " "
    return text
