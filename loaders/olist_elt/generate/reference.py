"""Fixed reference data the generator draws from.

Everything here is data, not logic: the real category list (the translation file is the
same 71 rows at every scale), zip-code regions with their cities, and the seasonality of
purchases. Weights are rounded counts measured on the real files, so the generated shape
follows the original without copying any row of it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    name: str  # Portuguese name, as in products
    english: str | None  # None: the category has no translation row
    weight: int  # products in this category in the real file


# The translation file's rows, in its order, then the two categories products use
# without a translation row.
CATEGORIES: tuple[Category, ...] = (
    Category("beleza_saude", "health_beauty", 2444),
    Category("informatica_acessorios", "computers_accessories", 1639),
    Category("automotivo", "auto", 1900),
    Category("cama_mesa_banho", "bed_bath_table", 3029),
    Category("moveis_decoracao", "furniture_decor", 2657),
    Category("esporte_lazer", "sports_leisure", 2867),
    Category("perfumaria", "perfumery", 868),
    Category("utilidades_domesticas", "housewares", 2335),
    Category("telefonia", "telephony", 1134),
    Category("relogios_presentes", "watches_gifts", 1329),
    Category("alimentos_bebidas", "food_drink", 104),
    Category("bebes", "baby", 919),
    Category("papelaria", "stationery", 849),
    Category("tablets_impressao_imagem", "tablets_printing_image", 9),
    Category("brinquedos", "toys", 1411),
    Category("telefonia_fixa", "fixed_telephony", 116),
    Category("ferramentas_jardim", "garden_tools", 753),
    Category("fashion_bolsas_e_acessorios", "fashion_bags_accessories", 849),
    Category("eletroportateis", "small_appliances", 231),
    Category("consoles_games", "consoles_games", 317),
    Category("audio", "audio", 58),
    Category("fashion_calcados", "fashion_shoes", 173),
    Category("cool_stuff", "cool_stuff", 789),
    Category("malas_acessorios", "luggage_accessories", 349),
    Category("climatizacao", "air_conditioning", 124),
    Category("construcao_ferramentas_construcao", "construction_tools_construction", 400),
    Category(
        "moveis_cozinha_area_de_servico_jantar_e_jardim",
        "kitchen_dining_laundry_garden_furniture",
        94,
    ),
    Category("construcao_ferramentas_jardim", "costruction_tools_garden", 88),
    Category("fashion_roupa_masculina", "fashion_male_clothing", 95),
    Category("pet_shop", "pet_shop", 719),
    Category("moveis_escritorio", "office_furniture", 309),
    Category("market_place", "market_place", 104),
    Category("eletronicos", "electronics", 517),
    Category("eletrodomesticos", "home_appliances", 370),
    Category("artigos_de_festas", "party_supplies", 26),
    Category("casa_conforto", "home_confort", 111),
    Category("construcao_ferramentas_ferramentas", "costruction_tools_tools", 39),
    Category("agro_industria_e_comercio", "agro_industry_and_commerce", 74),
    Category("moveis_colchao_e_estofado", "furniture_mattress_and_upholstery", 10),
    Category("livros_tecnicos", "books_technical", 123),
    Category("casa_construcao", "home_construction", 225),
    Category("instrumentos_musicais", "musical_instruments", 289),
    Category("moveis_sala", "furniture_living_room", 156),
    Category("construcao_ferramentas_iluminacao", "construction_tools_lights", 78),
    Category("industria_comercio_e_negocios", "industry_commerce_and_business", 68),
    Category("alimentos", "food", 82),
    Category("artes", "art", 55),
    Category("moveis_quarto", "furniture_bedroom", 45),
    Category("livros_interesse_geral", "books_general_interest", 216),
    Category("construcao_ferramentas_seguranca", "construction_tools_safety", 91),
    Category("fashion_underwear_e_moda_praia", "fashion_underwear_beach", 53),
    Category("fashion_esporte", "fashion_sport", 19),
    Category("sinalizacao_e_seguranca", "signaling_and_security", 93),
    Category("pcs", "computers", 30),
    Category("artigos_de_natal", "christmas_supplies", 65),
    Category("fashion_roupa_feminina", "fashio_female_clothing", 27),
    Category("eletrodomesticos_2", "home_appliances_2", 90),
    Category("livros_importados", "books_imported", 31),
    Category("bebidas", "drinks", 81),
    Category("cine_foto", "cine_photo", 28),
    Category("la_cuisine", "la_cuisine", 10),
    Category("musica", "music", 27),
    Category("casa_conforto_2", "home_comfort_2", 5),
    Category("portateis_casa_forno_e_cafe", "small_appliances_home_oven_and_coffee", 31),
    Category("cds_dvds_musicais", "cds_dvds_musicals", 1),
    Category("dvds_blu_ray", "dvds_blu_ray", 48),
    Category("flores", "flowers", 14),
    Category("artes_e_artesanato", "arts_and_craftmanship", 19),
    Category("fraldas_higiene", "diapers_and_hygiene", 12),
    Category("fashion_roupa_infanto_juvenil", "fashion_childrens_clothes", 5),
    Category("seguros_e_servicos", "security_and_services", 2),
    Category("pc_gamer", None, 3),
    Category("portateis_cozinha_e_preparadores_de_alimentos", None, 10),
)

# 610 of 32,951 real products have no category (and no name/description/photo counts).
NO_CATEGORY_WEIGHT = 610

PC_GAMER = "pc_gamer"
KITCHEN_PORTABLES = "portateis_cozinha_e_preparadores_de_alimentos"


@dataclass(frozen=True)
class Region:
    """A zip-code range of one state, with the cities its prefixes belong to."""

    state: str
    state_name: str  # lowercase, unaccented: used by the "city, state, brasil" quirk
    zip_low: int  # first 5-digit prefix of the range
    zip_high: int  # last 5-digit prefix of the range (inclusive)
    customers: int  # real customers in the region: drives customer and prefix counts
    sellers: int  # real sellers in the region
    lat: float
    lng: float
    spread: float  # degrees around the centre where its prefixes lie
    transit_days: float  # median days from carrier to a customer here
    cities: tuple[str, ...]  # accented names, most populous first


# Sao Paulo is split so that prefixes starting with 0 (the capital's metro area)
# get their real share: 23,995 of 99,441 customers.
# fmt: off
REGIONS: tuple[Region, ...] = (
    Region("SP", "sao paulo", 1000, 9999, 23995, 700, -23.55, -46.63, 0.35, 3.0, (
        "são paulo", "guarulhos", "osasco", "santo andré", "são bernardo do campo", "diadema",
        "mauá", "carapicuíba", "barueri", "taboão da serra", "santana de parnaíba", "cotia",
        "mogi das cruzes", "itaquaquecetuba", "suzano",
    )),
    Region("SP", "sao paulo", 11000, 19999, 17751, 1149, -22.4, -48.2, 1.8, 5.0, (
        "campinas", "santos", "são josé dos campos", "ribeirão preto", "sorocaba", "jundiaí",
        "piracicaba", "bauru", "são josé do rio preto", "franca", "limeira", "guarujá",
        "praia grande", "são vicente", "taubaté", "santa bárbara d'oeste", "americana",
        "araraquara", "são carlos", "indaiatuba", "mogi guaçu", "bragança paulista",
        "presidente prudente", "marília",
    )),
    Region("RJ", "rio de janeiro", 20000, 28999, 12852, 171, -22.85, -43.3, 0.8, 8.0, (
        "rio de janeiro", "niterói", "são gonçalo", "duque de caxias", "nova iguaçu",
        "petrópolis", "campos dos goytacazes", "volta redonda", "macaé", "cabo frio",
        "teresópolis", "belford roxo",
    )),
    Region("ES", "espirito santo", 29000, 29999, 2033, 23, -20.3, -40.4, 0.6, 9.0, (
        "vitória", "vila velha", "serra", "cariacica", "cachoeiro de itapemirim", "linhares",
        "guarapari",
    )),
    Region("MG", "minas gerais", 30000, 39999, 11635, 244, -19.9, -44.0, 2.2, 7.0, (
        "belo horizonte", "contagem", "juiz de fora", "uberlândia", "betim", "montes claros",
        "uberaba", "ipatinga", "governador valadares", "divinópolis", "poços de caldas",
        "sete lagoas",
    )),
    Region("BA", "bahia", 40000, 48999, 3380, 19, -12.97, -38.9, 2.5, 14.0, (
        "salvador", "feira de santana", "vitória da conquista", "camaçari", "itabuna",
        "ilhéus", "lauro de freitas", "juazeiro",
    )),
    Region("SE", "sergipe", 49000, 49999, 350, 2, -10.9, -37.2, 0.4, 16.0, (
        "aracaju", "nossa senhora do socorro", "lagarto", "itabaiana",
    )),
    Region("PE", "pernambuco", 50000, 56999, 1652, 9, -8.1, -35.8, 1.0, 15.0, (
        "recife", "jaboatão dos guararapes", "olinda", "caruaru", "petrolina", "paulista",
        "garanhuns",
    )),
    Region("AL", "alagoas", 57000, 57999, 413, 0, -9.65, -36.0, 0.5, 18.0, (
        "maceió", "arapiraca", "rio largo", "penedo",
    )),
    Region("PB", "paraiba", 58000, 58999, 536, 6, -7.2, -35.6, 0.6, 17.0, (
        "joão pessoa", "campina grande", "santa rita", "patos", "cabedelo",
    )),
    Region("RN", "rio grande do norte", 59000, 59999, 485, 5, -5.85, -35.7, 0.6, 17.0, (
        "natal", "mossoró", "parnamirim", "caicó",
    )),
    Region("CE", "ceara", 60000, 63999, 1336, 13, -3.9, -38.9, 1.2, 17.0, (
        "fortaleza", "caucaia", "juazeiro do norte", "maracanaú", "sobral", "crato",
    )),
    Region("PI", "piaui", 64000, 64999, 495, 1, -5.3, -42.6, 1.0, 18.0, (
        "teresina", "parnaíba", "picos", "floriano",
    )),
    Region("MA", "maranhao", 65000, 65999, 747, 1, -3.0, -44.6, 1.2, 19.0, (
        "são luís", "imperatriz", "caxias", "timon", "bacabal",
    )),
    Region("PA", "para", 66000, 68899, 975, 1, -1.6, -48.6, 1.6, 21.0, (
        "belém", "ananindeua", "santarém", "marabá", "castanhal", "parauapebas",
    )),
    Region("AP", "amapa", 68900, 68999, 68, 0, 0.04, -51.1, 0.3, 24.0, (
        "macapá", "santana",
    )),
    Region("AM", "amazonas", 69000, 69299, 148, 1, -3.1, -60.0, 0.6, 24.0, (
        "manaus", "parintins", "itacoatiara",
    )),
    Region("RR", "roraima", 69300, 69399, 46, 0, 2.82, -60.7, 0.3, 26.0, (
        "boa vista",
    )),
    Region("AC", "acre", 69900, 69999, 81, 1, -9.97, -67.8, 0.4, 25.0, (
        "rio branco", "cruzeiro do sul",
    )),
    Region("DF", "distrito federal", 70000, 72799, 2140, 30, -15.8, -47.9, 0.25, 9.0, (
        "brasília", "taguatinga", "ceilândia", "gama", "sobradinho", "guará",
    )),
    Region("GO", "goias", 74000, 76799, 2020, 40, -16.7, -49.4, 1.2, 10.0, (
        "goiânia", "aparecida de goiânia", "anápolis", "rio verde", "luziânia",
        "águas lindas de goiás", "valparaíso de goiás", "catalão",
    )),
    Region("RO", "rondonia", 76800, 76999, 253, 2, -9.5, -63.2, 1.2, 22.0, (
        "porto velho", "ji-paraná", "ariquemes", "vilhena", "cacoal",
    )),
    Region("TO", "tocantins", 77000, 77999, 280, 0, -10.2, -48.4, 1.2, 17.0, (
        "palmas", "araguaína", "gurupi",
    )),
    Region("MT", "mato grosso", 78000, 78899, 907, 4, -15.6, -56.1, 1.5, 14.0, (
        "cuiabá", "várzea grande", "rondonópolis", "sinop", "tangará da serra",
    )),
    Region("MS", "mato grosso do sul", 79000, 79999, 715, 5, -20.45, -54.6, 1.2, 11.0, (
        "campo grande", "dourados", "três lagoas", "corumbá",
    )),
    Region("PR", "parana", 80000, 87999, 5045, 349, -25.0, -50.5, 1.6, 7.0, (
        "curitiba", "londrina", "maringá", "ponta grossa", "cascavel",
        "são josé dos pinhais", "foz do iguaçu", "colombo", "guarapuava", "paranaguá",
        "apucarana", "toledo",
    )),
    Region("SC", "santa catarina", 88000, 89999, 3637, 190, -27.3, -49.5, 1.3, 9.0, (
        "florianópolis", "joinville", "blumenau", "são josé", "itajaí", "chapecó",
        "criciúma", "palhoça", "balneário camboriú", "jaraguá do sul", "lages", "brusque",
    )),
    Region("RS", "rio grande do sul", 90000, 99999, 5466, 129, -29.9, -51.6, 1.6, 11.0, (
        "porto alegre", "caxias do sul", "canoas", "pelotas", "santa maria", "gravataí",
        "novo hamburgo", "passo fundo", "são leopoldo", "viamão", "rio grande",
        "santa cruz do sul",
    )),
)
# fmt: on

# Brazil's bounding box: generated points stay inside it, except the deliberate outliers.
BRAZIL_LAT = (-33.75, 5.27)
BRAZIL_LNG = (-73.99, -34.80)

# Purchases per month in the real orders (2016-09 .. 2018-10): the marketplace grows,
# November 2017 has Black Friday, and the data stops in early September 2018 except for
# a handful of later orders, all canceled.
# fmt: off
MONTHLY_ORDERS: tuple[tuple[int, int, int], ...] = (
    (2016, 9, 4), (2016, 10, 324), (2016, 12, 1),
    (2017, 1, 800), (2017, 2, 1780), (2017, 3, 2682), (2017, 4, 2404), (2017, 5, 3700),
    (2017, 6, 3245), (2017, 7, 4026), (2017, 8, 4331), (2017, 9, 4285), (2017, 10, 4631),
    (2017, 11, 7544), (2017, 12, 5673),
    (2018, 1, 7269), (2018, 2, 6728), (2018, 3, 7211), (2018, 4, 6939), (2018, 5, 6873),
    (2018, 6, 6167), (2018, 7, 6292), (2018, 8, 6512), (2018, 9, 16), (2018, 10, 4),
)
# fmt: on

# Purchases by hour of day: quiet at night, flat through the afternoon and evening.
# fmt: off
HOURLY_ORDERS: tuple[int, ...] = (
    2394, 1170, 510, 272, 206, 188, 502, 1231, 2967, 4785, 6177, 6578,
    5995, 6518, 6569, 6454, 6675, 6150, 5769, 5982, 6193, 6217, 5816, 4123,
)
# fmt: on

# Order status shares of the real 99,441 orders.
STATUS_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("delivered", 96478),
    ("shipped", 1107),
    ("canceled", 625),
    ("unavailable", 609),
    ("invoiced", 314),
    ("processing", 301),
    ("created", 5),
    ("approved", 2),
)

# Items per order, for orders that have items (98,666 real orders).
# fmt: off
ITEMS_PER_ORDER: tuple[tuple[int, int], ...] = (
    (1, 88863), (2, 7516), (3, 1322), (4, 505), (5, 204), (6, 198), (7, 22), (8, 8),
    (9, 3), (10, 8), (11, 4), (12, 5), (13, 1), (14, 2), (15, 2), (20, 2), (21, 1),
)
# fmt: on

# Credit-card installments (76,795 real credit-card payments; 0 is a real oddity).
# fmt: off
INSTALLMENTS: tuple[tuple[int, int], ...] = (
    (1, 25455), (2, 12413), (3, 10461), (4, 7098), (5, 5239), (6, 3920), (7, 1626),
    (8, 4268), (9, 644), (10, 5328), (11, 23), (12, 133), (13, 16), (14, 15), (15, 74),
    (16, 5), (17, 8), (18, 27), (20, 17), (21, 3), (22, 1), (23, 1), (24, 18), (0, 2),
)
# fmt: on

# Photos per product.
# fmt: off
PHOTOS: tuple[tuple[int, int], ...] = (
    (1, 16489), (2, 6263), (3, 3860), (4, 2428), (5, 1484), (6, 968), (7, 343), (8, 192),
    (9, 105), (10, 95), (11, 46), (12, 35), (13, 9), (14, 5), (15, 8), (17, 7), (18, 2),
    (19, 1), (20, 1),
)
# fmt: on
