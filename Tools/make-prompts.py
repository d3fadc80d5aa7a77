#!/usr/bin/env python3
"""Write the fixed text set A is distilled through (Sources/CLIPTraining/Resources/prompts.txt).

Training A by text distillation scores every step against hundreds of texts; a corpus
without captions (or with few) takes them from this set. The sentences are templates x
vocabularies of objects, everyday actions (the kind Charades-STA and ActivityNet Captions
describe) and scenes, sampled with a fixed seed so the file is reproducible: running this
script again writes the same bytes. Standard library only.
    python3 Tools/make-prompts.py [--count 4096] [--out Sources/CLIPTraining/Resources/prompts.txt]
"""
import argparse, os, random, re

OBJECTS = """apple backpack bag ball banana basket bed bench bicycle bird blanket boat book bottle bowl box
bread broom bus cabinet cake camera candle car carpet cat chair clock closet coat computer couch cup
curtain desk dish dog door doorknob drawer dress flower food fork fridge glass guitar hat horse jacket
kettle key keyboard knife lamp laptop light mirror motorcycle mug notebook orange oven paper pen phone
piano picture pillow plant plate pot refrigerator remote sandwich shelf shirt shoe shoes sink sofa
spoon stairs suitcase table television tent toilet towel toy train tree truck umbrella vacuum vase
window bucket ladder rope skateboard surfboard kite frisbee tennis racket football helmet""".split()

ACTIONS = """opening a door|closing a door|sitting on a chair|standing up|walking through a doorway|
holding a cup|drinking from a cup|eating a sandwich|cooking on a stove|washing dishes|
putting a book on a shelf|reading a book|writing in a notebook|typing on a laptop|
talking on the phone|looking out of a window|turning on the light|turning off the light|
opening the refrigerator|taking food from the fridge|pouring water into a glass|
sweeping the floor|vacuuming the carpet|folding clothes|putting on a jacket|taking off shoes|
lying on the bed|sitting on the sofa|watching television|laughing|sneezing|smiling|
running|jumping|dancing|playing the guitar|playing the piano|riding a bicycle|
riding a horse|skateboarding|surfing a wave|swimming in a pool|climbing stairs|
throwing a ball|catching a ball|kicking a football|playing tennis|flying a kite|
walking a dog|petting a cat|carrying a box|lifting weights|stretching|doing push-ups|
brushing teeth|combing hair|washing hands|drying hands with a towel|tidying the table|
opening a bag|closing a box|holding a pillow|throwing a blanket|fixing a chair|
painting a wall|cutting vegetables|stirring a pot|baking a cake|setting the table|
taking a photo|hugging someone|waving at the camera|shaking hands|clapping|
rowing a boat|skiing down a slope|snowboarding|hiking up a hill|fishing from a boat|
washing a car|mowing the lawn|watering plants|planting a tree|playing with a toy""".replace("\n", "").split("|")

SCENES = """kitchen|living room|bedroom|bathroom|garage|office|hallway|dining room|basement|
street|park|beach|forest|mountain|lake|river|desert|snowy field|city square|parking lot|
playground|stadium|gym|swimming pool|garden|farm|market|restaurant|cafe|library|classroom|
train station|airport|bridge|harbour|road at night|rooftop|stage|studio|shop""".replace("\n", "").split("|")

PEOPLE = ["a person", "a man", "a woman", "a child", "a boy", "a girl", "someone", "two people", "a group of people", "an old man"]

TEMPLATES_OBJECT = ["a photo of a {o}.", "a close-up of a {o}.", "a {o} on the table.", "a {o} in the {s}.",
                    "a blurry photo of a {o}.", "a video frame showing a {o}.", "there is a {o} in the {s}."]
TEMPLATES_ACTION = ["{p} is {a}.", "{p} {a} in the {s}.", "{p} is {a} in the {s}.", "a video of {p} {a}.",
                    "a clip of {p} {a} in the {s}.", "{p} starts {a}.", "{p} then begins {a}."]
TEMPLATES_SCENE = ["a photo of the {s}.", "an empty {s}.", "a wide shot of a {s}.", "a {s} during the day.",
                   "a {s} at night.", "a crowded {s}."]


def sentences(count, seed):
    rng = random.Random(seed)
    out, seen = [], set()

    def add(s):
        s = re.sub(r"\ba ([aeiou])", r"an \1", s).replace("two people is", "two people are")
        s = s[0].upper() + s[1:]
        if s not in seen:
            seen.add(s)
            out.append(s)

    for o in OBJECTS:
        add(f"a photo of a {o}.")
    for a in ACTIONS:
        add(f"a person is {a}.")
    for s in SCENES:
        add(f"a photo of the {s}.")
    while len(out) < count:
        kind = rng.random()
        p, a, o, s = rng.choice(PEOPLE), rng.choice(ACTIONS), rng.choice(OBJECTS), rng.choice(SCENES)
        if kind < 0.6:
            add(rng.choice(TEMPLATES_ACTION).format(p=p, a=a, s=s))
        elif kind < 0.9:
            add(rng.choice(TEMPLATES_OBJECT).format(o=o, s=s))
        else:
            add(rng.choice(TEMPLATES_SCENE).format(s=s))
    return out[:count]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=4096)
    ap.add_argument("--seed", type=int, default=25)
    ap.add_argument("--out", default=os.path.join(here, "..", "Sources", "CLIPTraining", "Resources", "prompts.txt"))
    args = ap.parse_args()
    lines = sentences(args.count, args.seed)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} sentences to {os.path.normpath(args.out)}")


if __name__ == "__main__":
    main()
