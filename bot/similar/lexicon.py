"""Words that carry no meaning for similarity, and the domain's synonyms (English and Spanish).

A concept groups the words and phrases that people in schools and human services use for
one thing: "subs", "substitute teachers", "guest teachers" and "suplentes" all say
`~substitute`. Two reports that share a concept are closer even when they share no word,
in either language. Phrases are matched after folding and stemming, so "trained",
"training" and "capacitación" need only one entry each.

Keep a concept narrow: a word that means two things in this domain ("cover" a class, an
insurer that "covers" a session) belongs in none.
"""

from __future__ import annotations


def _list(text: str) -> list[str]:
    return text.split()


STOP_EN = frozenset(
    _list(
        """a about above after again against all almost also always am an and any are around as at
    be because been before being below between both but by can cant could couldnt did didnt do
    does doesnt doing dont down during each either else enough even ever every few for from
    get gets getting got had hadnt has hasnt have havent having he her here hers him his how i
    if im in into is isnt it its itself ive just keep keeps kept lot lots may me more most much
    must my no nor not now of off often on once one only or other our ours out over own per
    quite rather really same she should so some still such than that thats the their them then
    there these they theyre this those through to too under until up us very via was wasnt we
    were werent weve what when where which while who whom why will with within without wont
    would you your youre yet since basically something anything nothing thing things way ways
    day days week weeks month months year years time times mostly many again ago already
    each another says say said like never new"""
    )
)

STOP_ES = frozenset(
    _list(
        """a al algo algun alguna algunas alguno algunos ante antes aqui asi aun cada casi como con
    contra cual cuales cuando de del desde donde dos durante e el ella ellas ellos en entre era
    eran es esa esas ese eso esos esta estaba estaban estamos estan estar este esto estos fue
    fueron ha hace hacen han hasta hay la las le les lo los mas me mi mis mismo mucha muchas
    mucho muchos muy nada ni no nos nosotros nuestra nuestras nuestro nuestros o otra otras otro
    otros para pero poco por porque pues que quien se sea segun ser si sido siempre sin sobre
    solo son su sus tambien tan tanto te tenemos tener tiene tienen todo todos toda todas tu un
    una uno unos unas y ya nuevo nueva nuevos nuevas nunca dia dias semana semanas mes meses ano anos vez veces cosa"""
    )
)

# concept: (English phrases, Spanish phrases)
CONCEPTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # people
    "~substitute": (
        (
            "substitute",
            "substitutes",
            "sub",
            "subs",
            "supply teacher",
            "guest teacher",
            "fill-in teacher",
            "fill-in teachers",
            "subbing",
        ),
        ("suplente", "suplentes", "sustituto", "sustitutos", "maestro sustituto"),
    ),
    "~teacher": (
        ("teacher", "teachers", "educator", "educators"),
        (
            "maestro",
            "maestra",
            "maestros",
            "maestras",
            "docente",
            "docentes",
            "profesor",
            "profesores",
        ),
    ),
    "~family": (
        (
            "family",
            "families",
            "parent",
            "parents",
            "caregiver",
            "caregivers",
            "mom",
            "moms",
            "dad",
            "dads",
        ),
        ("familia", "familias", "padres", "papas", "mama", "mamas", "madre", "madres"),
    ),
    "~worker": (
        (
            "caseworker",
            "caseworkers",
            "case worker",
            "social worker",
            "home visitor",
            "home visitors",
            "family support worker",
            "clinician",
            "clinicians",
            "therapist",
            "therapists",
        ),
        (
            "trabajadora social",
            "trabajadoras",
            "trabajador social",
            "visitadora",
            "visitadoras",
            "terapeuta",
            "terapeutas",
            "clinico",
        ),
    ),
    "~supervisor": (
        (
            "supervisor",
            "supervisors",
            "supervision",
            "reflective supervision",
            "clinical supervision",
            "program manager",
            "program managers",
        ),
        ("supervisora", "supervisoras", "supervision", "supervision reflexiva"),
    ),
    "~coach": (
        (
            "coach",
            "coaches",
            "coaching",
            "instructional coach",
            "literacy coach",
            "coaching cycle",
            "coaching cycles",
        ),
        ("coach", "asesor pedagogico", "acompanamiento", "acompanar"),
    ),
    # what people do
    "~training": (
        (
            "training",
            "trained",
            "train",
            "professional development",
            "pd",
            "in-service",
            "inservice",
            "certification",
            "certified",
            "institute",
        ),
        (
            "capacitacion",
            "capacitar",
            "capacitado",
            "capacitados",
            "formacion",
            "curso",
            "entrenamiento",
        ),
    ),
    "~pay": (
        (
            "pay",
            "paid",
            "paycheck",
            "paychecks",
            "payroll",
            "wage",
            "wages",
            "salary",
            "daily rate",
        ),
        ("pago", "pagan", "pagar", "salario", "sueldo"),
    ),
    "~billing": (
        ("billing", "bill", "billing code", "medicaid", "insurance", "insurer", "claims"),
        ("seguro medico", "facturar", "facturacion", "medicaid"),
    ),
    "~planning": (
        (
            "planning",
            "planning time",
            "planning period",
            "planning periods",
            "prep",
            "prepare",
            "preparation",
        ),
        ("planeacion", "planificacion", "preparar"),
    ),
    "~meeting": (
        ("meeting", "meetings", "meet", "huddle"),
        ("reunion", "reuniones", "junta", "juntas", "reunirse"),
    ),
    "~observation": (
        ("observation", "observations", "observer", "observers", "rater", "raters", "walkthrough"),
        ("observacion", "observaciones", "observador", "observadores"),
    ),
    "~calibration": (
        (
            "calibration",
            "calibrated",
            "calibrate",
            "inter-rater",
            "reliability",
            "agree with each other",
            "score it differently",
        ),
        ("calibracion", "calibrar"),
    ),
    "~entry": (
        (
            "data entry",
            "enter",
            "entered",
            "re-enter",
            "re-enters",
            "type",
            "typed",
            "hand-copy",
            "copy",
        ),
        ("capturar", "registrar"),
    ),
    "~twice": (
        ("twice", "double", "duplicate", "two different systems", "two systems"),
        ("dos veces", "duplicado", "duplicados"),
    ),
    "~translation": (
        (
            "translate",
            "translated",
            "translation",
            "interpreter",
            "interpreters",
            "bilingual",
            "in their language",
        ),
        (
            "traducir",
            "traducido",
            "traducidos",
            "traduccion",
            "interprete",
            "interpretes",
            "bilingue",
        ),
    ),
    "~english-only": (
        ("only in english", "english only", "only english"),
        ("solo en ingles", "solo ingles"),
    ),
    "~spanish": (("spanish", "spanish-speaking"), ("espanol", "hispanohablante")),
    "~message": (
        (
            "message",
            "messages",
            "notice",
            "notices",
            "letter",
            "letters",
            "newsletter",
            "newsletters",
            "notification",
            "notifications",
        ),
        (
            "mensaje",
            "mensajes",
            "aviso",
            "avisos",
            "notificacion",
            "notificaciones",
            "carta",
            "cartas",
            "folleto",
            "folletos",
        ),
    ),
    "~app": (("app", "application"), ("aplicacion", "plataforma de comunicacion")),
    "~reminder": (
        ("reminder", "reminders", "remind", "text message", "texts"),
        ("recordatorio", "recordatorios", "mensaje de texto"),
    ),
    # things and places
    "~reading": (
        ("reading", "literacy", "ela", "phonics", "decodable"),
        ("lectura", "alfabetizacion", "lectoescritura"),
    ),
    "~curriculum": (
        ("curriculum", "curricula", "lesson", "lessons", "unit", "units", "core program"),
        ("curriculo", "leccion", "lecciones"),
    ),
    "~materials": (
        ("materials", "kit", "kits", "workbook", "workbooks", "readers", "books", "textbooks"),
        ("materiales", "libros", "cuadernos"),
    ),
    "~device": (
        (
            "device",
            "devices",
            "chromebook",
            "chromebooks",
            "laptop",
            "laptops",
            "computer",
            "computers",
            "tablet",
            "tablets",
            "ipad",
            "ipads",
        ),
        ("computadora", "computadoras", "tableta", "tabletas", "dispositivo", "dispositivos"),
    ),
    "~broken": (
        ("broken", "break", "repair", "not working", "dying"),
        ("no funcionan", "no funciona", "descompuesto", "descompuestas", "roto", "rotas"),
    ),
    "~bus": (
        ("bus", "buses", "school bus", "bus route", "route", "routes"),
        ("autobus", "autobuses", "camion escolar"),
    ),
    "~ride": (
        (
            "transportation",
            "transport",
            "ride",
            "rides",
            "bus voucher",
            "bus vouchers",
            "gas voucher",
            "gas vouchers",
            "without a car",
        ),
        ("transporte", "vales de gasolina"),
    ),
    "~data": (("data", "scores", "results"), ("datos", "resultados")),
    "~system": (
        (
            "system",
            "systems",
            "platform",
            "software",
            "database",
            "sis",
            "student information system",
        ),
        ("sistema", "sistemas", "plataforma"),
    ),
    "~screening": (
        (
            "screener",
            "screening",
            "universal screening",
            "benchmark",
            "benchmark assessment",
            "diagnostic",
        ),
        ("diagnostico", "examen de diagnostico", "tamizaje"),
    ),
    "~intervention": (
        ("intervention", "interventions", "tier 2", "tier 3", "small group", "small groups"),
        ("intervencion", "intervenciones", "grupos pequenos"),
    ),
    "~fidelity": (("fidelity", "adherence", "implementation checklist"), ("fidelidad",)),
    "~form": (
        ("form", "forms", "checklist", "tool", "instrument"),
        ("formulario", "formularios", "instrumento"),
    ),
    "~long": (
        ("too long", "lengthy", "pages long", "takes forever"),
        ("demasiado largo", "muy largo"),
    ),
    "~behavior": (
        (
            "behavior",
            "behaviour",
            "fights",
            "fighting",
            "bullying",
            "conflict",
            "conflicts",
            "write-ups",
            "discipline",
        ),
        ("conducta", "comportamiento", "peleas"),
    ),
    "~pbis": (("pbis", "tier 1 team", "behavior team", "behaviour team"), ("pbis",)),
    "~sped": (
        ("iep", "ieps", "special education", "special ed", "sped"),
        ("educacion especial", "iep"),
    ),
    "~paperwork": (
        ("paperwork", "documentation", "compliance"),
        ("papeleo", "documentacion"),
    ),
    "~caseload": (
        ("caseload", "caseloads", "cases", "too many families"),
        ("casos", "carga de casos", "demasiadas familias"),
    ),
    "~home-visit": (
        ("home visit", "home visits", "home visiting", "visits", "visit"),
        ("visita domiciliaria", "visitas domiciliarias", "visitas", "visita"),
    ),
    "~model": (("model", "evidence-based", "evidence-based model"), ("modelo",)),
    "~waitlist": (
        ("waitlist", "waiting list", "waitlisted", "booked up", "seats", "cohort", "no space"),
        ("cupo", "lista de espera"),
    ),
    "~hire": (
        ("new hire", "new hires", "hired", "hiring", "new staff", "recruit"),
        ("contratado", "contratados", "personal nuevo", "contratar"),
    ),
    "~ehr": (
        ("ehr", "electronic health record", "health record", "case management system"),
        ("expediente electronico",),
    ),
    "~background-check": (
        ("background check", "background checks", "fingerprinting", "fingerprint", "clearance"),
        ("antecedentes", "verificacion de antecedentes", "huellas"),
    ),
    "~consent": (
        (
            "consent",
            "release of information",
            "release",
            "roi",
            "authorization",
            "data-sharing agreement",
            "data sharing agreement",
        ),
        ("consentimiento", "autorizacion", "formulario de autorizacion"),
    ),
    "~turnover": (
        ("turnover", "quit", "quitting", "vacancy", "vacancies", "vacant", "retention"),
        ("rotacion", "renuncia", "renuncias", "vacante", "vacantes"),
    ),
    "~move": (
        ("move", "moved", "moving", "relocate"),
        ("mudarse", "mudan", "se mudan", "cambian de domicilio", "domicilio"),
    ),
    "~attendance": (
        ("attendance", "absenteeism", "chronic absence", "chronically absent"),
        ("asistencia", "ausentismo"),
    ),
    "~peer": (
        ("peer", "peers", "colleague", "colleagues", "each other's"),
        ("colega", "colegas"),
    ),
    "~late": (
        ("late", "delay", "delayed", "delays", "behind", "too late"),
        ("tarde", "retraso", "atrasado"),
    ),
    # broader domain vocabulary (lexicon v2)
    "~student": (
        ("student", "students", "kids", "children", "pupils", "learners"),
        ("alumno", "alumnos", "estudiante", "estudiantes", "ninos", "chicos"),
    ),
    "~staff": (
        ("staff", "personnel", "employees", "employee"),
        ("personal", "empleados", "trabajadores"),
    ),
    "~specialist": (
        ("interventionist", "interventionists", "specialist", "specialists", "reading specialist"),
        ("especialista", "especialistas"),
    ),
    "~duty": (
        (
            "duty",
            "duties",
            "lunch duty",
            "recess duty",
            "bus duty",
            "hall duty",
            "cafeteria",
            "lunchroom",
            "recess",
            "lunch",
        ),
        ("comedor", "recreo", "almuerzo", "guardia", "cafeteria"),
    ),
    "~reimburse": (
        (
            "reimbursement",
            "reimburse",
            "reimbursed",
            "mileage",
            "travel claims",
            "expense claims",
            "out of pocket",
        ),
        ("reembolso", "reembolsos", "kilometraje", "viaticos", "de su bolsillo"),
    ),
    "~login": (
        (
            "login",
            "log in",
            "logged in",
            "password",
            "passwords",
            "locked out",
            "account",
            "accounts",
            "sign-on",
            "single sign-on",
            "sso",
            "credentials",
        ),
        ("contrasena", "contrasenas", "cuenta", "cuentas", "usuario", "acceso"),
    ),
    "~connectivity": (
        (
            "wifi",
            "wi-fi",
            "wireless",
            "internet",
            "signal",
            "cell signal",
            "connection",
            "connectivity",
            "hotspot",
            "bandwidth",
            "connect",
        ),
        ("senal", "conexion", "internet", "conectar"),
    ),
    "~childcare": (
        ("childcare", "child care", "babysitting", "babysitter", "daycare"),
        ("cuidado de ninos", "guarderia", "ninera", "con quien dejar a los ninos"),
    ),
    "~evening": (
        ("evening", "evenings", "night", "nights", "after work", "6pm", "7pm"),
        ("noche", "noches", "nocturno"),
    ),
    "~parent-class": (
        (
            "parenting class",
            "parenting classes",
            "parent workshop",
            "parent workshops",
            "parent training",
            "parenting group",
            "triple p",
            "parent class",
        ),
        (
            "taller de crianza",
            "talleres de crianza",
            "talleres para padres",
            "escuela para padres",
            "clases para padres",
        ),
    ),
    "~crisis": (
        ("crisis", "mobile crisis", "crisis team", "crisis line", "crisis unit", "emergency"),
        ("crisis", "emergencia", "urgencia"),
    ),
    "~rural": (
        ("rural", "remote", "county", "outlying", "far out"),
        ("rural", "remoto", "remota", "lejos", "comunidades alejadas"),
    ),
    "~foster": (
        (
            "foster",
            "foster parent",
            "foster parents",
            "foster family",
            "foster families",
            "kinship",
            "resource family",
            "licensing",
            "license",
            "licensed",
        ),
        (
            "familia de acogida",
            "familias de acogida",
            "familias sustitutas",
            "acogimiento",
            "licencia",
        ),
    ),
    "~dashboard": (
        ("dashboard", "dashboards", "early warning", "one screen", "data wall"),
        ("tablero", "tableros", "panel de datos"),
    ),
    "~shortage": (
        (
            "shortage",
            "short-staffed",
            "unfilled",
            "not enough",
            "none available",
            "nobody available",
            "no one available",
            "empty",
        ),
        ("escasez", "no hay disponibles", "faltan", "no alcanza"),
    ),
    "~absence": (
        ("absent", "absence", "absences", "out sick", "calls out"),
        ("ausente", "ausencia", "ausencias", "falta la maestra"),
    ),
    "~funding": (
        ("budget", "funding", "funds", "money", "grant", "cost", "afford"),
        ("presupuesto", "fondos", "dinero", "costo", "financiamiento"),
    ),
    "~cancel": (
        ("cancel", "cancelled", "canceled", "cancellation", "cancellations", "called off"),
        ("cancelar", "cancelan", "cancelada", "canceladas", "suspenden"),
    ),
    "~assessment": (
        ("assessment", "assessments", "test", "testing", "evaluation", "exam"),
        ("evaluacion", "evaluaciones", "examen", "prueba", "pruebas"),
    ),
    "~paper": (
        ("paper", "paper forms", "by hand", "handwritten", "hand-written"),
        ("papel", "a mano"),
    ),
    "~online": (
        ("online", "website", "web", "portal", "computer-based", "digital"),
        ("en linea", "sitio web", "portal", "digital"),
    ),
    "~feedback": (
        ("shared back", "hear back", "never hear", "feedback", "returned", "return"),
        ("retroalimentacion", "devuelven", "nunca recibimos"),
    ),
}
